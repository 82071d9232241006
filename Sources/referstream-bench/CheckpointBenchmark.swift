// `referstream-bench checkpoint`: an official-format checkpoint of any backbone (ResNet, Swin,
// Video-Swin; e.g. from tools/make_random_checkpoint.py --backbone …) loaded strictly with the
// architecture inferred from its shapes, then one 360×640 clip through the whole network: load time,
// per-frame time by stage and peak RSS.
import ArgumentParser
import Foundation
import ReferFormer
import Tensor

#if canImport(Glibc)
import Glibc
#endif

struct CheckpointBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Load a checkpoint (architecture inferred), run a clip: load time, per-frame time by stage, peak RSS.",
        discussion: """
            Stages: backbone (per clip: a Video-Swin backbone mixes the clip's frames), projections + fusion, \
            encoder, decoder + heads (per frame), pixel decoder + mask head (per clip), each divided by T. \
            Peak RSS is the process's maximum resident set (getrusage), weights mapped and touched included.
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

    @Option(help: "Measured passes after one warm-up pass; the best pass per stage is reported.")
    var repeats: Int = 1

    func validate() throws {
        guard threads > 0, frames > 0, height >= 64, width >= 64, repeats > 0 else {
            throw ValidationError("threads, frames and repeats must be positive; height and width at least 64")
        }
    }

    func run() throws {
        TensorRuntime.defaultThreadCount = threads
        let loadStart = Clock.now()
        let model = try ReferFormerModel.load(weights: URL(fileURLWithPath: weights))
        let load = loadStart.elapsed()
        let c = model.configuration
        print("\(weights): backbone \(c.backbone), hidden \(c.hiddenDim), \(c.encLayers)+\(c.decLayers) layers, "
              + "backbone \(c.backboneMixesFrames ? "per clip (mixes frames)" : "per frame")")
        print(String(format: "loaded and built strictly in %.2f s wall (%.2f s CPU); RSS peak so far %d MiB",
                     load.wall, load.cpu, Self.peakRSS() / 1_048_576))
        print("OpenBLAS core \(TensorRuntime.kernelName), \(threads) threads; clip T=\(frames) at \(height)×\(width)")

        let clip = Tensor.randomNormal(shape: [frames, 3, height, width], seed: 7)
        let ids = [0] + (0..<14).map { 5 + ($0 * 7919) % (c.textEncoder.vocabSize - 5) } + [2]
        let encoded = try model.encodeText(ids: ids)
        let text = TextFeatures(wordFeatures: encoded.wordFeatures, sentenceFeature: encoded.sentenceFeature, paddingMask: nil)
        let stages = ["backbone", "projections + fusion", "encoder", "decoder + heads", "forward after backbone"]
        var times: [String: [(wall: Double, cpu: Double)]] = [:]
        func timed<R>(_ stage: String, _ body: () throws -> R) rethrows -> R {
            let start = Clock.now()
            let result = try body()
            times[stage, default: []].append(start.elapsed())
            return result
        }
        for pass in 0...repeats {
            let features = timed(stages[0]) { model.backbone(clip) }
            let sources = timed(stages[1]) { model.detector.fuse(model.detector.project(features), text: text) }
            let encodedClip = timed(stages[2]) { model.detector.encode(sources: sources) }
            _ = timed(stages[3]) { model.detector.decode(encodedClip, text: text) }
            let output = try timed(stages[4]) { try model.forward(features: features, text: encoded, imageSize: (height, width)) }
            if pass == 0 {
                times = [:]
                guard output.predMasks.scalars.allSatisfy(\.isFinite) else { throw ValidationError("non-finite masks with these weights") }
            }
        }
        let t = Double(frames)
        func best(_ stage: String) -> (wall: Double, cpu: Double) {
            ((times[stage] ?? []).map(\.wall).min() ?? 0, (times[stage] ?? []).map(\.cpu).min() ?? 0)
        }
        print("per frame, best of \(repeats) (wall; process CPU over all threads):")
        for stage in stages {
            let b = best(stage)
            print("  " + stage.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%9.1f ms wall %9.1f ms CPU", b.wall / t * 1000, b.cpu / t * 1000))
        }
        let total = (best(stages[0]).wall + best(stages[4]).wall) / t
        print(String(format: "  total (backbone + forward) %7.1f ms wall per frame", total * 1000))
        print("peak RSS \(Self.peakRSS() / 1_048_576) MiB")
    }

    /// The process's maximum resident set size in bytes (`getrusage`, `ru_maxrss` in KiB on Linux).
    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}
