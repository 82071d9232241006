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

    @OptionGroup var options: StageOptions

    @Option(help: ArgumentHelp("Also write the figures as JSON (the schema of `all`, without streaming).", valueName: "file"))
    var json: String?

    func run() throws {
        TensorRuntime.defaultThreadCount = options.threads
        let loadStart = Clock.now()
        let model = try ReferFormerModel.load(weights: URL(fileURLWithPath: weights))
        let load = loadStart.elapsed()
        let c = model.configuration
        print("\(weights): backbone \(c.backbone), hidden \(c.hiddenDim), \(c.encLayers)+\(c.decLayers) layers, "
              + "backbone \(c.backboneMixesFrames ? "per clip (mixes frames)" : "per frame")")
        print(String(format: "loaded and built strictly in %.2f s wall (%.2f s CPU); RSS peak so far %d MiB",
                     load.wall, load.cpu, ProcessFigures.peakRSS() / 1_048_576))

        let report = try options.measure(model: model, label: weights)
        print(report.table())
        if let json {
            try report.write(to: URL(fileURLWithPath: json))
            print("JSON written to \(json)")
        }
    }
}
