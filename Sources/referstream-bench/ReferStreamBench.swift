import ArgumentParser

/// Release-mode speed figures for ReferStream's engine (`swift run -c release referstream-bench …`).
/// One subcommand per area, one file per subcommand.
@main
struct ReferStreamBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "referstream-bench",
        abstract: "Speed benchmarks for ReferStream (build with -c release).",
        subcommands: [TensorBenchmark.self, ModelBenchmark.self, SegmentationBenchmark.self, LoadBenchmark.self])
}
