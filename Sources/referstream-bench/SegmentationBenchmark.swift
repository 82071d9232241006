import ArgumentParser
import BenchmarkSupport
import ReferFormer
import Tensor

/// `referstream-bench segmentation`: the segmentation part at the real R50 configuration with random
/// weights — CrossModalFPN pixel decoder (total and per stage), dynamic mask head, post-processing —
/// with the decoder's GFLOP/s next to plain sgemm measured right after it (the attainable rate under
/// the machine's load at that moment).
struct SegmentationBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segmentation",
        abstract: "Pixel decoder, dynamic mask head and post-processing at the R50 sizes, random weights.")

    @Option(help: "Threads for OpenBLAS and for the tensor runtime's parallel loops.")
    var threads: Int = 2

    @Option(help: "Frames per clip (T).")
    var frames: Int = 2

    @Option(help: "Resized frame height and width (network input).")
    var height: Int = 360
    @Option var width: Int = 640

    @Option(help: "Caption length in tokens.")
    var words: Int = 16

    @Option(help: "Measured repetitions (after one warm-up run).")
    var repeats: Int = 3

    func run() throws {
        TensorRuntime.defaultThreadCount = threads
        let (c, f, m, q) = (256, 2048, 256, 5)
        // Level sizes: every stride-2 op maps n → ⌊(n − 1)/2⌋ + 1 (spec §3); strides 4, 8, 16, 32.
        var sizes: [(Int, Int)] = []
        var (h, w) = (height, width)
        for level in 0..<5 {
            h = (h - 1) / 2 + 1; w = (w - 1) / 2 + 1
            if level >= 1 { sizes.append((h, w)) }
        }
        try CrossModalFPNDecoder.validateFrameSize(height: height, width: width)

        var random = SeededUniform(state: 42)
        let clock = ContinuousClock()
        let setupStart = clock.now
        let stateDict = StateDict(Self.keys(hidden: c, ffn: f, res2: 256, maskDim: m, params: 2153).map { ($0.0, random.parameter($0.0, $0.1)) })
        let decoder = CrossModalFPNDecoder(weights: stateDict, hiddenDim: c, maskDim: m, ffnDim: f, res2Channels: 256)
        let maskHead = DynamicMaskHead(weights: stateDict, hiddenDim: c, maskDim: m)
        try stateDict.finish()
        let setup = Self.seconds(clock.now - setupStart)

        let res2 = random.tensor([frames, 256, sizes[0].0, sizes[0].1], scale: 1)
        let memory = (1...3).map { random.tensor([frames, c, sizes[$0].0, sizes[$0].1], scale: 1) }
        let positions = sizes.map { Tensor.sinePositionEncoding2D(height: $0.0, width: $0.1, numPosFeats: c / 2) }
        let wordFeatures = random.tensor([1, words, c], scale: 1)
        let textPosition = Tensor.sinePositionEncoding1D(length: words, numPosFeats: c)
        let hs = random.tensor([frames, q, c], scale: 1)
        let boxes = Tensor(shape: [frames, q, 4]) { b in for i in 0..<b.count { b[i] = 0.5 + 0.4 * random.next() } }
        let logits = random.tensor([1, frames, q, 1], scale: 2)
        let flops = ReferFormerFLOPs.pixelDecoder(sizes: sizes.map { (h: $0.0, w: $0.1) }, frames: frames, hiddenDim: c, ffnDim: f, maskDim: m,
                                                  res2Channels: 256, tokens: words)

        print("OpenBLAS core \(TensorRuntime.kernelName); threads \(threads); T = \(frames) at \(height)x\(width); levels \(sizes.map { "\($0.0)x\($0.1)" }.joined(separator: ", ")); L = \(words); setup \(Self.num(setup)) s")
        print("pixel decoder: \(Self.num(flops / 1e9 / Double(frames))) GFLOP per frame")
        for run in 0...repeats {
            var marks: [(String, ContinuousClock.Instant)] = [("start", clock.now)]
            _ = decoder(res2: res2, memory: memory, positions: positions, words: wordFeatures, textPaddingMask: nil,
                        textPosition: textPosition) { name, _ in marks.append((name, clock.now)) }
            let plainStart = clock.now
            let features = decoder(res2: res2, memory: memory, positions: positions, words: wordFeatures, textPaddingMask: nil,
                                   textPosition: textPosition)
            let decoderTime = Self.seconds(clock.now - plainStart)
            let headStart = clock.now
            let masks = maskHead(maskFeatures: features, hs: hs, references: boxes, imageSize: (height, width))
            let headTime = Self.seconds(clock.now - headStart)
            let postStart = clock.now
            let post = MaskPostProcessing.process(predLogits: logits, predMasks: masks, originalSize: (2 * height, 2 * width))
            _ = post.binaryMasks()
            let postTime = Self.seconds(clock.now - postStart)
            let gemm = SgemmBaseline.measure(m: 4096, n: 2048, k: 256, repeats: 4).rate / 1e9
            let label = run == 0 ? "warm-up" : "run \(run)"
            print("\(label): pixel decoder \(Self.num(decoderTime)) s = \(Self.num(decoderTime / Double(frames))) s/frame, "
                  + "\(Self.num(flops / decoderTime / 1e9)) GFLOP/s (plain sgemm now \(Self.num(gemm)) GFLOP/s, ratio \(Int((flops / decoderTime / 1e9 / gemm * 100).rounded())) %); "
                  + "mask head \(Self.num(headTime)) s; post to \(2 * height)x\(2 * width) \(Self.num(postTime)) s")
            let stages = (1..<marks.count).map { i in
                "\(marks[i].0.hasPrefix("pixel_decoder.") ? String(marks[i].0.dropFirst(14)) : marks[i].0) \(Self.num(Self.seconds(marks[i].1 - marks[i - 1].1)))"
            }
            print("  stages (s; each up to its recorded intermediate, incl. one NCHW conversion): " + stages.joined(separator: ", "))
        }
    }

    /// The `pixel_decoder.*` and `controller.*` keys of the official R50 model with their shapes (spec §2.3).
    static func keys(hidden c: Int, ffn f: Int, res2 r: Int, maskDim m: Int, params p: Int) -> [(String, [Int])] {
        var list: [(String, [Int])] = []
        let d = "pixel_decoder."
        for k in 1...4 {
            list += [("\(d)adapter_\(k).weight", [c, k == 1 ? r : c, 1, 1]), ("\(d)adapter_\(k).norm.weight", [c]), ("\(d)adapter_\(k).norm.bias", [c]),
                     ("\(d)layer_\(k).weight", [c, c, 3, 3]), ("\(d)layer_\(k).norm.weight", [c]), ("\(d)layer_\(k).norm.bias", [c])]
            for a in ["self_attn", "multihead_attn"] {
                list += [("\(d)cross_attn_\(k).\(a).in_proj_weight", [3 * c, c]), ("\(d)cross_attn_\(k).\(a).in_proj_bias", [3 * c]),
                         ("\(d)cross_attn_\(k).\(a).out_proj.weight", [c, c]), ("\(d)cross_attn_\(k).\(a).out_proj.bias", [c])]
            }
            list += [("\(d)cross_attn_\(k).linear1.weight", [f, c]), ("\(d)cross_attn_\(k).linear1.bias", [f]),
                     ("\(d)cross_attn_\(k).linear2.weight", [c, f]), ("\(d)cross_attn_\(k).linear2.bias", [c])]
            for n in 1...3 { list += [("\(d)cross_attn_\(k).norm\(n).weight", [c]), ("\(d)cross_attn_\(k).norm\(n).bias", [c])] }
        }
        list += [("\(d)mask_features.weight", [m, c, 3, 3]), ("\(d)mask_features.bias", [m])]
        list += [("controller.layers.0.weight", [c, c]), ("controller.layers.0.bias", [c]), ("controller.layers.1.weight", [c, c]),
                 ("controller.layers.1.bias", [c]), ("controller.layers.2.weight", [p, c]), ("controller.layers.2.bias", [p])]
        return list
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
    static func num(_ v: Double) -> String { "\((v * 1000).rounded() / 1000)" }
}

/// Deterministic uniform values (SplitMix64), scaled like a fan-in initialisation.
struct SeededUniform {
    var state: UInt64

    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1  // [-1, 1)
    }

    mutating func tensor(_ shape: [Int], scale: Float) -> Tensor {
        Tensor(shape: shape) { b in for i in 0..<b.count { b[i] = next() * scale } }
    }

    /// Norm weights ≈ 1, biases small, weights with variance 1/fan_in.
    mutating func parameter(_ key: String, _ shape: [Int]) -> Tensor {
        let isNormWeight = key.hasSuffix("norm.weight") || ["norm1", "norm2", "norm3"].contains { key.hasSuffix(".\($0).weight") }
        if isNormWeight { return Tensor(shape: shape) { b in for i in 0..<b.count { b[i] = 1 + 0.1 * next() } } }
        if shape.count == 1 { return tensor(shape, scale: 0.1) }
        return tensor(shape, scale: (3 / Float(shape.dropFirst().reduce(1, *))).squareRoot())
    }
}
