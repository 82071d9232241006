// `referstream-bench model`: the ReferFormer detection path at its real size (ResNet-50, hidden 256,
// 8 heads, 4 + 4 layers, 5 queries, roberta-base text encoder) with random weights on a 360×640 clip;
// time of the text encoder per phrase, per-frame time of each stage and the backbone's GFLOP/s next to the same-run OpenBLAS sgemm rate. Only release builds give
// meaningful figures (`swift run -c release referstream-bench model`).
import ArgumentParser
import Foundation
import ReferFormer
import Tensor

#if canImport(Glibc)
import Glibc
#endif

struct ModelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time of the ReferFormer text encoder per phrase and of each per-frame stage (backbone, projections + fusion, encoder, decoder + heads) at real size.")

    @Option(help: "Threads for OpenBLAS and for the tensor runtime's parallel loops.")
    var threads: Int = 2

    @Option(help: "Frames in the clip (processed as one batch per stage).")
    var frames: Int = 2

    @Option(help: "Frame height and width (the resized network input).")
    var height: Int = 360
    @Option var width: Int = 640

    @Option(help: "Caption length in tokens, <s> and </s> included.")
    var tokens: Int = 16

    @Option(help: "Measured passes after one warm-up pass; the best pass per stage is reported.")
    var repeats: Int = 3

    func validate() throws {
        guard threads > 0, frames > 0, height >= 64, width >= 64, tokens > 0, repeats > 0 else {
            throw ValidationError("threads, frames, tokens and repeats must be positive; height and width at least 64")
        }
    }

    func run() throws {
        TensorRuntime.defaultThreadCount = threads
        let configuration = ReferFormerConfiguration()  // the official R50 / Ref-YTVOS architecture
        print("ReferFormer detection path + text encoder, random weights: ResNet-50, roberta-base, hidden \(configuration.hiddenDim), \(configuration.nheads) heads, "
              + "\(configuration.encLayers)+\(configuration.decLayers) layers, \(configuration.numQueries) queries; "
              + "clip T=\(frames) at \(height)×\(width), \(tokens) tokens")
        print("OpenBLAS core \(TensorRuntime.kernelName), \(threads) threads")

        let buildStart = Clock.now()
        let weights = StateDict(generating: ModelBenchmark.randomParameter)
        let model = try ReferFormerDetector(configuration: configuration, weights: weights)
        let textEncoder = TextEncoder(weights: weights, roberta: configuration.textEncoder, hiddenDim: configuration.hiddenDim)
        print(String(format: "model built in %.2f s", buildStart.elapsed().wall))

        let clip = Tensor.randomNormal(shape: [frames, 3, height, width], seed: 7)
        // `<s>`, random word ids, `</s>` (roberta-base vocabulary).
        let ids = [0] + (0..<Swift.max(tokens - 2, 0)).map { 5 + ($0 * 7919) % (configuration.textEncoder.vocabSize - 5) } + [2]
        var textTimes: [(wall: Double, cpu: Double)] = []
        var encodedText = textEncoder(ids: ids)
        for _ in 0..<repeats {
            let start = Clock.now()
            encodedText = textEncoder(ids: ids)
            textTimes.append(start.elapsed())
        }
        let text = TextFeatures(wordFeatures: encodedText.wordFeatures, sentenceFeature: encodedText.sentenceFeature,
                                paddingMask: encodedText.paddingMask)
        let stages = ["backbone", "projections + fusion", "encoder", "decoder + heads"]
        var times: [String: [(wall: Double, cpu: Double)]] = [:]
        func timed<R>(_ stage: String, _ body: () -> R) -> R {
            let start = Clock.now()
            let result = body()
            times[stage, default: []].append(start.elapsed())
            return result
        }
        // One warm-up pass, then `repeats` measured passes.
        for pass in 0...repeats {
            let features = timed(stages[0]) { model.backbone(clip) }
            let sources = timed(stages[1]) { model.fuse(model.project(features), text: text) }
            let encoded = timed(stages[2]) { model.encode(sources: sources) }
            let decoded = timed(stages[3]) { model.decode(encoded, text: text) }
            if pass == 0 {
                times = [:]
                guard decoded.predLogits.scalars.allSatisfy(\.isFinite) else {
                    throw ValidationError("non-finite logits with random weights")
                }
            }
        }

        let t = Double(frames)
        print(String(format: "\ntext (RoBERTa-base size, %d layers + resizer), once per phrase of %d tokens: %.1f ms wall, %.1f ms CPU",
                     configuration.textEncoder.numHiddenLayers, ids.count,
                     (textTimes.map(\.wall).min() ?? 0) * 1000, (textTimes.map(\.cpu).min() ?? 0) * 1000))
        print("per frame, best of \(repeats) passes (wall time; process CPU time over all threads):")
        var totalWall = 0.0, totalCPU = 0.0
        for stage in stages {
            let wall = (times[stage] ?? []).map(\.wall).min() ?? 0, cpu = (times[stage] ?? []).map(\.cpu).min() ?? 0
            totalWall += wall / t
            totalCPU += cpu / t
            print("  " + stage.padding(toLength: 22, withPad: " ", startingAt: 0)
                  + String(format: "%9.1f ms wall %9.1f ms CPU", wall / t * 1000, cpu / t * 1000))
        }
        print("  " + "total".padding(toLength: 22, withPad: " ", startingAt: 0)
              + String(format: "%9.1f ms wall %9.1f ms CPU", totalWall * 1000, totalCPU * 1000))

        let flops = ModelBenchmark.backboneFLOPs(configuration.backbone, height: height, width: width)
        let backboneWall = (times[stages[0]] ?? []).map(\.wall).min() ?? 0
        let backboneCPU = (times[stages[0]] ?? []).map(\.cpu).min() ?? 0
        let gemm = ModelBenchmark.sgemmRate()
        // Per CPU-second rates stay comparable when other processes share the cores.
        print(String(format: "\nbackbone: %.1f GFLOP per frame, %.1f GFLOP/s wall, %.1f GFLOP per CPU-second",
                     flops / 1e9, flops * t / backboneWall / 1e9, flops * t / backboneCPU / 1e9))
        print(String(format: "sgemm (same run, %@, best of 5): %.1f GFLOP/s wall, %.1f GFLOP per CPU-second",
                     gemm.shape as NSString, gemm.rate / 1e9, gemm.ratePerCPU / 1e9))
    }
}

extension ModelBenchmark {
    /// Random parameters with sane magnitudes: weights N(0, 1/fan_in), norm scales 1, biases and
    /// running means 0, running variances 1, residual-branch BN scales 0.2 (keeps activations bounded).
    static func randomParameter(key: String, shape: [Int]) -> Tensor {
        var seed: UInt64 = 1469598103934665603
        for byte in key.utf8 { seed = (seed ^ UInt64(byte)) &* 1099511628211 }
        if shape.count <= 1 {
            if key.hasSuffix("running_var") { return Tensor.ones(shape) }
            if key.hasSuffix(".bn3.weight") { return Tensor(shape: shape, repeating: 0.2) }
            if key.hasSuffix("weight") { return Tensor.ones(shape) }
            return Tensor.randomNormal(shape: shape, seed: seed) * 0.02
        }
        let fanIn = shape.dropFirst().reduce(1, *)
        return Tensor.randomNormal(shape: shape, seed: seed) * (1 / Float(fanIn).squareRoot())
    }

    /// Multiply-adds × 2 of the ResNet convolutions at an H×W input (stride-2 ops give ⌈n/2⌉).
    static func backboneFLOPs(_ d: BackboneDescription, height: Int, width: Int) -> Double {
        func down(_ n: Int) -> Int { (n - 1) / 2 + 1 }
        var flops = 0.0
        func conv(_ cin: Int, _ cout: Int, _ k: Int, _ h: Int, _ w: Int) { flops += 2 * Double(cin * cout * k * k * h * w) }
        var h = down(height), w = down(width)
        conv(3, BackboneDescription.stemChannels, 7, h, w)
        h = down(h); w = down(w)  // maxpool
        var inC = BackboneDescription.stemChannels
        for (stage, blocks) in d.layers.enumerated() {
            let width = d.width(stage: stage), out = d.outChannels(stage: stage)
            for b in 0..<blocks {
                let cin = b == 0 ? inC : out
                conv(cin, width, 1, h, w)
                let (oh, ow) = b == 0 && stage > 0 ? (down(h), down(w)) : (h, w)
                conv(width, width, 3, oh, ow)
                conv(width, out, 1, oh, ow)
                if b == 0 { conv(cin, out, 1, oh, ow) }
                h = oh; w = ow
            }
            inC = out
        }
        return flops
    }

    /// Best-of-5 rate of a square 1024³ sgemm (the shape class of the backbone's larger GEMMs).
    static func sgemmRate() -> (shape: String, rate: Double, ratePerCPU: Double) {
        let n = 1024
        let a = Tensor.randomNormal(shape: [n, n], seed: 1), b = Tensor.randomNormal(shape: [n, n], seed: 2)
        var best = Double.infinity, bestCPU = Double.infinity
        for _ in 0..<5 {
            let start = Clock.now()
            _ = matmul(a, b)
            let elapsed = start.elapsed()
            best = min(best, elapsed.wall)
            bestCPU = min(bestCPU, elapsed.cpu)
        }
        let flops = 2 * Double(n * n * n)
        return ("\(n)×\(n)×\(n)", flops / best, flops / bestCPU)
    }

}

/// Wall-clock and process CPU time (all threads), for figures that stay meaningful on a shared machine.
private struct Clock {
    var wall: UInt64
    var cpu: Double

    static func now() -> Clock {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Clock(wall: DispatchTime.now().uptimeNanoseconds, cpu: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
    }

    func elapsed() -> (wall: Double, cpu: Double) {
        let end = Clock.now()
        return (Double(end.wall - wall) / 1e9, end.cpu - cpu)
    }
}

