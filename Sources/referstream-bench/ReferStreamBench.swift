import ArgumentParser
import Tensor

/// Release-mode speed figures for ReferStream's engine (`swift run -c release referstream-bench …`).
/// One subcommand per area, one file per subcommand.
@main
struct ReferStreamBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "referstream-bench",
        abstract: "Speed benchmarks for ReferStream (build with -c release).",
        discussion: """
            Each benchmark measures its OpenBLAS sgemm baseline in the same run. When OpenBLAS picks a \
            generic kernel on a CPU with AVX2/AVX-512, the benchmark restarts itself with \
            OPENBLAS_CORETYPE set (as the referstream commands do); set OPENBLAS_CORETYPE yourself, or \
            REFERSTREAM_KEEP_BLAS_KERNEL=1, to measure another kernel.
            """,
        subcommands: [AllBenchmark.self, TensorBenchmark.self, ModelBenchmark.self, SegmentationBenchmark.self, LoadBenchmark.self, StreamBenchmark.self, CheckpointBenchmark.self,
                       WinogradBenchmark.self, KernelBenchmark.self])

    static func main() {
        TensorRuntime.restartWithFastestKernelIfNeeded()
        main(nil)
    }
}
