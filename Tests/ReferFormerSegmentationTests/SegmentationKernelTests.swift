// The channels-last kernels of the segmentation part against the golden op cases (Tests/Fixtures/ops,
// golden README §1), and the post-processing helpers against hand-checked values.
import Testing
@testable import ReferFormer
import Tensor
import TestSupport

@Suite("Segmentation kernels (golden ops)")
struct SegmentationKernelTests {
    static let ops: Result<GoldenTensors, Error> = Result { try GoldenTensors("ops/ops.safetensors") }

    static func expectClose(_ name: String, _ value: Tensor, _ golden: Tensor, tolerance: Double) {
        let comparison = Comparison(value, golden, tolerance: tolerance)
        #expect(comparison.passed, "\(name): \(comparison)")
    }

    @Test("legacy nearest resize is exact", arguments: [
        "interp.nearest.12x20_to_23x40", "interp.nearest.25x37_to_3x4", "interp.nearest.7x10_to_13x19",
        "interp.nearest.13x19_to_7x10", "interp.nearest.5x7_to_11x17",
    ])
    func nearest(_ name: String) throws {
        let ops = try Self.ops.get()
        let input = try ops.tensor("\(name).input"), golden = try ops.tensor("\(name).output")
        let out = SegmentationKernels.resizeNearest(SegmentationKernels.channelsLast(input), height: golden.shape[2], width: golden.shape[3])
        Self.expectClose(name, SegmentationKernels.channelsFirst(out), golden, tolerance: 0)
    }

    @Test("bilinear resize, align_corners=False", arguments: [
        "interp.bilinear_ac0.3x4_to_25x37", "interp.bilinear_ac0.25x37_to_83x123",
        "interp.bilinear_ac0.11x20_to_45x80", "interp.bilinear_ac0.13x19_to_7x10",
    ])
    func bilinear(_ name: String) throws {
        let ops = try Self.ops.get()
        let input = try ops.tensor("\(name).input"), golden = try ops.tensor("\(name).output")
        let out = SegmentationKernels.resizeBilinear(SegmentationKernels.channelsLast(input), height: golden.shape[2], width: golden.shape[3])
        Self.expectClose(name, SegmentationKernels.channelsFirst(out), golden, tolerance: 3e-5)
        // The single-channel path of the post-processing (T, h, w).
        let first = input.selecting(1, 0).contiguous()
        Self.expectClose(name + " (mask path)", MaskPostProcessing.resizeMasks(first, height: golden.shape[2], width: golden.shape[3]),
                         golden.selecting(1, 0).contiguous(), tolerance: 3e-5)
    }

    @Test("3×3 convolution (padding 1) as 9 GEMMs", arguments: ["conv2d.k3s1p1.bias", "conv2d.k3s1p1.nobias"])
    func conv3x3(_ name: String) throws {
        let ops = try Self.ops.get()
        let input = try ops.tensor("\(name).input"), weight = try ops.tensor("\(name).weight")
        let bias = name.hasSuffix(".bias") ? try ops.tensor("\(name).bias") : nil
        let out = SegmentationKernels.conv3x3(SegmentationKernels.channelsLast(input), taps: SegmentationKernels.convolutionTaps(weight), bias: bias)
        Self.expectClose(name, SegmentationKernels.channelsFirst(out), try ops.tensor("\(name).output"), tolerance: 3e-5)
    }

    @Test("1×1 convolution from channels-first input")
    func conv1x1() throws {
        let ops = try Self.ops.get()
        let name = "conv2d.k1s1.bias"
        let input = try ops.tensor("\(name).input"), weight = try ops.tensor("\(name).weight"), bias = try ops.tensor("\(name).bias")
        let out = SegmentationKernels.conv1x1ChannelsFirstToLast(input, weight: weight)
        let withBias = SegmentationKernels.linear(Tensor.zeros(out.shape), weight: Tensor.zeros([out.shape[3], out.shape[3]]), bias: bias, residual: out)
        Self.expectClose(name, SegmentationKernels.channelsFirst(withBias), try ops.tensor("\(name).output"), tolerance: 3e-5)
    }

    @Test("group norm over channels-last maps", arguments: ["groupnorm.g8.c64", "groupnorm.g8.c256", "groupnorm.g32.c64"])
    func groupNorm(_ name: String) throws {
        let ops = try Self.ops.get()
        var x = SegmentationKernels.channelsLast(try ops.tensor("\(name).input"))
        let groups = name.contains(".g8.") ? 8 : 32
        SegmentationKernels.groupNorm(&x, groups: groups, weight: try ops.tensor("\(name).weight"), bias: try ops.tensor("\(name).bias"))
        Self.expectClose(name, SegmentationKernels.channelsFirst(x), try ops.tensor("\(name).output"), tolerance: 3e-5)
    }

    @Test("group norm with statistics split over pixel chunks equals Tensor.groupNorm (NCHW)")
    func groupNormLarge() {
        var state: UInt64 = 7
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 4 - 1.5
        }
        let x = Tensor(shape: [2, 64, 40, 50]) { b in for i in 0..<b.count { b[i] = next() } }
        let weight = Tensor(shape: [64]) { b in for i in 0..<64 { b[i] = 1 + 0.1 * next() } }
        let bias = Tensor(shape: [64]) { b in for i in 0..<64 { b[i] = 0.1 * next() } }
        var y = SegmentationKernels.channelsLast(x)
        SegmentationKernels.groupNorm(&y, groups: 8, weight: weight, bias: bias, relu: true)
        let reference = x.groupNorm(groups: 8, weight: weight, bias: bias).relu()
        Self.expectClose("groupNorm 2×64×40×50", SegmentationKernels.channelsFirst(y), reference, tolerance: 3e-5)
    }

    @Test("layer norm over rows")
    func layerNorm() throws {
        let ops = try Self.ops.get()
        let name = "layernorm.eps1e-5.d64"
        var x = try ops.tensor("\(name).input")
        SegmentationKernels.layerNormRows(&x, weight: try ops.tensor("\(name).weight"), bias: try ops.tensor("\(name).bias"))
        Self.expectClose(name, x, try ops.tensor("\(name).output"), tolerance: 3e-5)
    }

    @Test("multi-head attention (blocked GEMM) equals nn.MultiheadAttention", arguments: ["mha.e64h8.kpm", "mha.e32h8.selfattn"])
    func attention(_ name: String) throws {
        let ops = try Self.ops.get()
        let query = try ops.tensor("\(name).query"), key = try ops.tensor("\(name).key"), value = try ops.tensor("\(name).value")
        let e = query.shape[2], batch = query.shape[1]
        let stateDict = StateDict([
            ("a.in_proj_weight", try ops.tensor("\(name).in_proj_weight")), ("a.in_proj_bias", try ops.tensor("\(name).in_proj_bias")),
            ("a.out_proj.weight", try ops.tensor("\(name).out_proj_weight")), ("a.out_proj.bias", try ops.tensor("\(name).out_proj_bias")),
        ])
        let attention = VisionLanguageAttention(stateDict: stateDict, prefix: "a.", embedDim: e, heads: 8)
        try stateDict.finish()
        let mask: [Bool]? = name.hasSuffix("kpm") ? try ops.bools("\(name).key_padding_mask") : nil
        let golden = try ops.tensor("\(name).output")
        for n in 0..<batch {
            let rowMask = mask.map { Array($0[(n * key.shape[0])..<((n + 1) * key.shape[0])]) }
            // Small blocks so that the blocked path (several query blocks per head) is exercised too.
            for block in [1024, 3] {
                let out = attention(query: query.selecting(1, n).contiguous(), key: key.selecting(1, n).contiguous(),
                                    value: value.selecting(1, n).contiguous(), keyPaddingMask: rowMask, blockRows: block)
                Self.expectClose("\(name) batch \(n) block \(block)", out, golden.selecting(1, n).contiguous(), tolerance: 3e-5)
            }
        }
    }
}

@Suite("Pixel decoder input sizes")
struct PixelDecoderSizeTests {
    /// Level sizes of the backbone for a frame side n (each stride-2 op: n → ⌊(n−1)/2⌋+1).
    static func levels(_ n: Int) -> [Int] {
        var sizes: [Int] = [], v = n
        for step in 0..<5 { v = (v - 1) / 2 + 1; if step >= 1 { sizes.append(v) } }
        return sizes  // res2, res3, res4, res5
    }

    @Test("the minimum frame side is the smallest one every reduced self-attention accepts", arguments: [27, 28, 29, 30, 33, 360])
    func minimumSide(_ side: Int) {
        let sizes = Self.levels(side)
        let fits = zip(sizes, CrossModalFPNDecoder.srRatios).allSatisfy { $0 / $1 >= 1 }
        #expect(fits == (side >= CrossModalFPNDecoder.minimumFrameSide), "side \(side): levels \(sizes)")
        #expect(((try? CrossModalFPNDecoder.validateFrameSize(height: side, width: 640)) != nil) == fits)
        #expect(throws: ReferFormerError.self) { try CrossModalFPNDecoder.validateFrameSize(height: 640, width: CrossModalFPNDecoder.minimumFrameSide - 1) }
    }
}

@Suite("Mask post-processing helpers")
struct MaskPostProcessingTests {
    @Test("query choice: mean sigmoid over frames, max over classes, first index on ties")
    func selection() {
        // T = 2, Q = 3, K = 1: mean sigmoid of (0, 0) = 0.5, (2, −2) = 0.5, (1, 1) ≈ 0.731.
        let logits = Tensor(shape: [1, 2, 3, 1], elements: [0, 2, 1, 0, -2, 1])
        let (scores, index) = MaskPostProcessing.selectQuery(predLogits: logits)
        #expect(index == 2, "index \(index), scores \(scores)")
        #expect(abs(scores[0] - 0.5) < 1e-6 && abs(scores[1] - 0.5) < 1e-6, "scores \(scores)")
        let tied = Tensor(shape: [1, 2, 1], elements: [3, 3])
        #expect(MaskPostProcessing.selectQuery(predLogits: tied).queryIndex == 0)
    }

    @Test("clips: whole video, or non-overlapping windows with a shorter last one", arguments: [
        (10, nil as Int?, [0..<10]), (10, 36, [0..<10]), (80, 36, [0..<36, 36..<72, 72..<80]), (72, 36, [0..<36, 36..<72]), (0, 36, []),
    ])
    func clips(_ frames: Int, _ length: Int?, _ expected: [Range<Int>]) {
        #expect(MaskPostProcessing.clipRanges(frameCount: frames, clipLength: length) == expected)
    }

    @Test("DAVIS label map: p < 0.5 dropped, background 0.1, argmax with first index on ties")
    func davis() {
        let a = Tensor(shape: [1, 1, 4], elements: [0.4, 0.6, 0.9, 0.7])
        let b = Tensor(shape: [1, 1, 4], elements: [0.45, 0.8, 0.9, 0.2])
        #expect(MaskPostProcessing.davisLabels(objectProbabilities: [a, b]) == [0, 2, 1, 1])
    }

    @Test("binary masks and probabilities follow sigmoid(logit) > 0.5")
    func threshold() {
        let masks = ClipMasks(scores: [1], queryIndex: 0, maskLogits: Tensor(shape: [1, 1, 4], elements: [-1, 0, 1e-9, 0.01]))
        #expect(masks.binaryMasks() == [0, 0, 0, 1])
        #expect(abs(masks.probabilities.scalars[3] - 0.5025) < 1e-4)
    }
}
