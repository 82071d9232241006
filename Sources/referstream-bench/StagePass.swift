// The whole ReferFormer network on one clip, stage by stage, each stage timed: what `model`, `all` and
// `checkpoint` measure. The stages are the public ones of ReferFormerModel in the order of its
// `forward(features:text:imageSize:)`; the first pass is checked against `forward` (same masks, bit-exact).
import ArgumentParser
import BenchmarkSupport
import ReferFormer
import Tensor

struct StagePass {
    /// The per-frame stages in pipeline order (the text encoder is timed separately, once per phrase).
    static let stages = ["backbone", "projections + fusion", "encoder", "decoder + heads", "pixel decoder", "mask head", "post-processing"]

    let model: ReferFormerModel
    /// The frame size the chosen masks are resized to (the input size when frames need no resize).
    let originalSize: (height: Int, width: Int)

    /// Token ids of a phrase of `tokens` tokens: `<s>`, spread word ids, `</s>`.
    static func phraseIds(tokens: Int, vocabularySize: Int) -> [Int] {
        [0] + (0..<max(tokens - 2, 0)).map { 5 + ($0 * 7919) % (vocabularySize - 5) } + [2]
    }

    /// One warm-up pass (checked against `forward`), then `repeats` timed passes: every stage's timings
    /// over the clip (not divided by T), and the text encoder's timings per phrase.
    func measure(clip: Tensor, ids: [Int], repeats: Int) throws -> (stages: [String: [Timing]], text: [Timing]) {
        let (height, width) = (clip.shape[2], clip.shape[3])
        var textTimes: [Timing] = []
        var encoded = try model.encodeText(ids: ids)
        for _ in 0..<repeats {
            let start = Clock.now()
            encoded = try model.encodeText(ids: ids)
            textTimes.append(start.elapsed())
        }
        let text = TextFeatures(wordFeatures: encoded.wordFeatures, sentenceFeature: encoded.sentenceFeature,
                                paddingMask: encoded.paddingMask.contains(true) ? encoded.paddingMask : nil)
        var times: [String: [Timing]] = [:]
        func timed<R>(_ stage: String, _ body: () throws -> R) rethrows -> R {
            let start = Clock.now()
            let result = try body()
            times[stage, default: []].append(start.elapsed())
            return result
        }
        let detector = model.detector, last = model.configuration.decLayers - 1
        for pass in 0...repeats {
            let features = timed(Self.stages[0]) { model.backbone(clip) }
            let sources = timed(Self.stages[1]) { detector.fuse(detector.project(features), text: text) }
            let encoder = timed(Self.stages[2]) { detector.encode(sources: sources) }
            let decoder = timed(Self.stages[3]) { detector.decode(encoder, text: text) }
            let maskFeatures = timed(Self.stages[4]) {
                let textPosition = detector.textPositionEncoding(tokenCount: text.tokenCount)
                let res2Position = detector.positionEncoding(height: features.res2.shape[2], width: features.res2.shape[3])
                return model.pixelDecoder(
                    res2: features.res2, memory: (0..<3).map { encoder.memoryMap(level: $0) },
                    positions: [res2Position] + encoder.positions.prefix(3), words: text.wordFeatures.unsqueezed(0),
                    textPaddingMask: text.paddingMask, textPosition: textPosition.permuted([1, 2, 0]))
            }
            let masks = timed(Self.stages[5]) {
                model.maskHead.masks(maskFeatures: maskFeatures, parameters: model.maskHead.parameters(decoder.hs[last]),
                                     references: decoder.interReferences[last], imageSize: (height, width))
            }
            let binary = timed(Self.stages[6]) {
                MaskPostProcessing.process(predLogits: decoder.predLogits.unsqueezed(0), predMasks: masks.unsqueezed(0),
                                           originalSize: originalSize).binaryMasks()
            }
            if pass == 0 {
                times = [:]
                // The staged pass must be the network's own computation.
                let reference = try model.forward(features: features, text: encoded, imageSize: (height, width))
                guard reference.predMasks.scalars == masks.unsqueezed(0).scalars, !binary.isEmpty else {
                    throw ValidationError("the staged pass differs from ReferFormerModel.forward: update StagePass")
                }
                guard masks.scalars.allSatisfy(\.isFinite) else { throw ValidationError("non-finite masks with these weights") }
            }
        }
        return (times, textTimes)
    }

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
}

extension BenchmarkReport {
    /// The report of a stage pass: the text encoder per phrase, every stage per frame (median ÷ T),
    /// their total, next to the analytic FLOPs and the same-run sgemm rate.
    static func stages(from measured: (stages: [String: [Timing]], text: [Timing]), flops: ReferFormerFLOPs,
                       sgemm: SgemmBaseline) -> (stages: [Stage], total: Stage) {
        let t = Double(flops.frames)
        let counted = Dictionary(uniqueKeysWithValues: flops.stages.map { ($0.name, $0.flops) })
        var stages = [Stage(name: "text", per: "phrase", timing: .median(measured.text), flops: flops.text, sgemmRate: sgemm.rate, sgemmRatePerCpu: sgemm.ratePerCPU)]
        var wall = 0.0, cpu = 0.0
        for name in StagePass.stages {
            let median = Timing.median(measured.stages[name] ?? [])
            let perFrame = Timing(wall: median.wall / t, cpu: median.cpu / t)
            wall += perFrame.wall
            cpu += perFrame.cpu
            stages.append(Stage(name: name, per: "frame", timing: perFrame, flops: (counted[name] ?? 0) / t, sgemmRate: sgemm.rate, sgemmRatePerCpu: sgemm.ratePerCPU))
        }
        let total = Stage(name: "total (per frame)", per: "frame", timing: Timing(wall: wall, cpu: cpu), flops: flops.perFrameTotal,
                          sgemmRate: sgemm.rate, sgemmRatePerCpu: sgemm.ratePerCPU)
        return (stages, total)
    }
}
