// `referstream-bench model`: the whole ReferFormer network at its real size (ResNet-50, hidden 256,
// 8 heads, 4 + 4 layers, 5 queries, roberta-base text encoder) with random weights on a 360×640 clip:
// time of the text encoder per phrase and of every per-frame stage (backbone, projections + fusion,
// encoder, decoder + heads, pixel decoder, mask head, post-processing), each with its analytic FLOPs
// and GFLOP/s next to the same-run OpenBLAS sgemm rate. Only release builds give meaningful figures
// (`swift run -c release referstream-bench model`); `all` adds streaming and the demo model.
import ArgumentParser
import BenchmarkSupport
import Foundation
import ReferFormer
import Tensor

struct ModelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time, analytic FLOPs and GFLOP/s of the text encoder and of every per-frame stage at real size.")

    @OptionGroup var options: StageOptions

    func run() throws {
        let report = try options.measure(model: options.randomModel(), label: "ReferFormer R50 (random weights, official shapes)")
        print(report.table())
    }
}

/// The options and the measurement shared by `model`, `all` and `checkpoint`.
struct StageOptions: ParsableArguments {
    @Option(help: "Threads for OpenBLAS and for the tensor runtime's parallel loops.")
    var threads: Int = 2

    @Option(help: "Frames in the clip (processed as one batch per stage).")
    var frames: Int = 2

    @Option(help: "Frame height and width (the resized network input).")
    var height: Int = 360
    @Option var width: Int = 640

    @Option(help: "Caption length in tokens, <s> and </s> included.")
    var tokens: Int = 16

    @Option(help: "Measured passes after one warm-up pass; the median pass per stage is reported.")
    var repeats: Int = 3

    func validate() throws {
        guard threads > 0, frames > 0, height >= 64, width >= 64, tokens > 0, repeats > 0 else {
            throw ValidationError("threads, frames, tokens and repeats must be positive; height and width at least 64")
        }
    }

    /// The official R50 architecture with random weights (`StagePass.randomParameter`).
    func randomModel() throws -> ReferFormerModel {
        try ReferFormerModel(configuration: ReferFormerConfiguration(), weights: StateDict(generating: StagePass.randomParameter))
    }

    /// Runs the stage pass on a random clip, then the sgemm baseline; `label` names the model in the report.
    func measure(model: ReferFormerModel, label: String) throws -> BenchmarkReport {
        TensorRuntime.defaultThreadCount = threads
        let loadStart = ProcessFigures.loadAverage()
        let c = model.configuration
        let clip = Tensor.randomNormal(shape: [frames, 3, height, width], seed: 7)
        let ids = StagePass.phraseIds(tokens: tokens, vocabularySize: c.textEncoder.vocabSize)
        let measured = try StagePass(model: model, originalSize: (height, width)).measure(clip: clip, ids: ids, repeats: repeats)
        let sgemm = SgemmBaseline.measure()
        // A Swin backbone has no analytic count (reported with 0 FLOP); the other stages do.
        let flops = ReferFormerFLOPs(configuration: c, height: height, width: width, frames: frames, tokens: ids.count)
        let (stages, total) = BenchmarkReport.stages(from: measured, flops: flops, sgemm: sgemm)
        return BenchmarkReport(
            machine: .init(cpu: ProcessFigures.cpuModel(), threads: threads, openblasCore: TensorRuntime.kernelName,
                           loadAverageStart: loadStart, loadAverageEnd: ProcessFigures.loadAverage()),
            input: .init(model: label, height: height, width: width, frames: frames, tokens: ids.count, repeats: repeats),
            sgemm: .init(sgemm), stages: stages, total: total, peakRssBytes: ProcessFigures.peakRSS())
    }
}
