// `referstream-bench checkpoint`: an official-format checkpoint of any backbone (ResNet, Swin,
// Video-Swin; e.g. from tools/make_random_checkpoint.py --backbone …) loaded strictly with the
// architecture inferred from its shapes, then one 360×640 clip through the whole network: load time,
// per-frame time by stage and peak RSS. tools/bench/compare.py reads its --json output.
import ArgumentParser
import BenchmarkSupport
import Foundation
import ReferFormer
import Tensor

struct CheckpointBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Load a checkpoint (architecture inferred), run a clip: load time, per-frame time by stage, peak RSS.",
        discussion: """
            Stages: text encoder (per phrase), backbone (per clip: a Video-Swin backbone mixes the clip's \
            frames), projections + fusion, encoder, decoder + heads, pixel decoder, mask head and \
            post-processing, each the median over the passes divided by T. Analytic FLOPs are given for \
            ResNet backbones. Peak RSS is the process's maximum resident set (VmHWM), weights mapped and \
            touched included.
            """)

    @Option(help: ArgumentHelp("The checkpoint (.pth or .safetensors).", valueName: "file"))
    var weights: String

    @Option(help: "Threads for OpenBLAS and for the tensor runtime's parallel loops.")
    var threads: Int = 2

    @Option(help: "Frames in the clip.")
    var frames: Int = 3

    @Option(help: "Frame height and width (the resized network input).")
    var height: Int = 360
    @Option var width: Int = 640

    @Option(help: "Caption length in tokens, <s> and </s> included.")
    var tokens: Int = 16

    @Option(help: "Measured passes after one warm-up pass; the median pass per stage is reported.")
    var repeats: Int = 1

    @Option(help: ArgumentHelp("Also write the figures as JSON (the schema of `all`, without streaming).", valueName: "file"))
    var json: String?

    func validate() throws {
        guard threads > 0, frames > 0, height >= 64, width >= 64, tokens > 0, repeats > 0 else {
            throw ValidationError("threads, frames, tokens and repeats must be positive; height and width at least 64")
        }
    }

    func run() throws {
        TensorRuntime.defaultThreadCount = threads
        let loadAverage = ProcessFigures.loadAverage()
        let loadStart = Clock.now()
        let model = try ReferFormerModel.load(weights: URL(fileURLWithPath: weights))
        let load = loadStart.elapsed()
        let c = model.configuration
        print("\(weights): backbone \(c.backbone), hidden \(c.hiddenDim), \(c.encLayers)+\(c.decLayers) layers, "
              + "backbone \(c.backboneMixesFrames ? "per clip (mixes frames)" : "per frame")")
        print(String(format: "loaded and built strictly in %.2f s wall (%.2f s CPU); RSS peak so far %d MiB",
                     load.wall, load.cpu, ProcessFigures.peakRSS() / 1_048_576))

        let clip = Tensor.randomNormal(shape: [frames, 3, height, width], seed: 7)
        let ids = StagePass.phraseIds(tokens: tokens, vocabularySize: c.textEncoder.vocabSize)
        let measured = try StagePass(model: model, originalSize: (height, width)).measure(clip: clip, ids: ids, repeats: repeats)
        let sgemm = SgemmBaseline.measure()
        // A Swin backbone has no analytic count (reported with 0 FLOP); the other stages do.
        let flops = ReferFormerFLOPs(configuration: c, height: height, width: width, frames: frames, tokens: ids.count)
        let (stages, total) = BenchmarkReport.stages(from: measured, flops: flops, sgemm: sgemm)
        let report = BenchmarkReport(
            machine: .init(cpu: ProcessFigures.cpuModel(), threads: threads, openblasCore: TensorRuntime.kernelName,
                           loadAverageStart: loadAverage, loadAverageEnd: ProcessFigures.loadAverage()),
            input: .init(model: weights, height: height, width: width, frames: frames, tokens: ids.count, repeats: repeats),
            sgemm: .init(sgemm), stages: stages, total: total, peakRssBytes: ProcessFigures.peakRSS())
        print(report.table())
        if let json {
            try report.write(to: URL(fileURLWithPath: json))
            print("JSON written to \(json)")
        }
    }
}
