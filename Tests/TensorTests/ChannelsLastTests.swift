// The channels-last ops (ImageLayout.channelsLast), multi-head attention and the FFN block against the
// golden op cases (Tests/Fixtures/ops, golden README §1) and against the NCHW ops.
import Testing
import TestSupport
@testable import Tensor

@Suite("Channels-last ops (golden ops)")
struct ChannelsLastTests {
    static let ops: Result<GoldenTensors, Error> = Result { try GoldenTensors("ops/ops.safetensors") }

    static func expectClose(_ name: String, _ value: Tensor, _ golden: Tensor, tolerance: Double) {
        let comparison = Comparison(value, golden, tolerance: tolerance)
        #expect(comparison.passed, "\(name): \(comparison)")
    }

    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1, offset: Float = 0) -> Tensor {
        var generator = TestSupport.SplitMix64(seed: seed)
        return Tensor(shape: shape) { b in
            for i in 0..<b.count {
                let unit = Float(generator.next() >> 40) / Float(1 << 23) - 1
                b[i] = offset + scale * unit
            }
        }
    }

    @Test("layout conversion round-trips, also from a permuted view")
    func layout() {
        let x = Self.random([2, 5, 7, 33], seed: 1)
        let last = x.channelsLast()
        #expect(last.shape == [2, 7, 33, 5])
        #expect(last.scalars == x.permuted([0, 2, 3, 1]).contiguous().scalars)
        #expect(last.channelsFirst().scalars == x.scalars)
        let view = last.permuted([0, 3, 1, 2])  // NCHW view of a channels-last buffer
        #expect(view.channelsLast().scalars == last.scalars)
    }

    @Test("legacy nearest resize is exact", arguments: [
        "interp.nearest.12x20_to_23x40", "interp.nearest.25x37_to_3x4", "interp.nearest.7x10_to_13x19",
        "interp.nearest.13x19_to_7x10", "interp.nearest.5x7_to_11x17",
    ])
    func nearest(_ name: String) throws {
        let ops = try Self.ops.get()
        let input = try ops.tensor("\(name).input"), golden = try ops.tensor("\(name).output")
        let out = input.channelsLast().interpolateChannelsLast(size: (golden.shape[2], golden.shape[3]), mode: .nearest)
        Self.expectClose(name, out.channelsFirst(), golden, tolerance: 0)
    }

    @Test("bilinear resize, align_corners=False", arguments: [
        "interp.bilinear_ac0.3x4_to_25x37", "interp.bilinear_ac0.25x37_to_83x123",
        "interp.bilinear_ac0.11x20_to_45x80", "interp.bilinear_ac0.13x19_to_7x10",
    ])
    func bilinear(_ name: String) throws {
        let ops = try Self.ops.get()
        let input = try ops.tensor("\(name).input"), golden = try ops.tensor("\(name).output")
        let size = (golden.shape[2], golden.shape[3])
        let out = input.channelsLast().interpolateChannelsLast(size: size, mode: .bilinear(alignCorners: false))
        Self.expectClose(name, out.channelsFirst(), golden, tolerance: 3e-5)
        // Bit-identical to the NCHW op (same index and weight rules, same order of the sums).
        #expect(out.channelsFirst().scalars == input.interpolate(size: size, mode: .bilinear(alignCorners: false)).scalars)
    }

    @Test("resizing with a fused skip equals resize, then add", arguments: [InterpolationMode.nearest, .bilinear(alignCorners: false)])
    func adding(_ mode: InterpolationMode) {
        let x = Self.random([2, 5, 6, 8], seed: 2), skip = Self.random([2, 9, 13, 8], seed: 3)
        let fused = x.interpolateChannelsLast(size: (9, 13), mode: mode, adding: skip)
        let separate = skip + x.interpolateChannelsLast(size: (9, 13), mode: mode)
        Self.expectClose("adding \(mode)", fused, separate, tolerance: 1e-6)
    }

    @Test("k×k convolution as k² GEMMs over a padded copy", arguments: ["conv2d.k3s1p1.bias", "conv2d.k3s1p1.nobias"])
    func conv3x3(_ name: String) throws {
        let ops = try Self.ops.get()
        let input = try ops.tensor("\(name).input"), weight = try ops.tensor("\(name).weight")
        let bias = name.hasSuffix(".bias") ? try ops.tensor("\(name).bias") : nil
        let out = input.channelsLast().conv2dChannelsLast(ConvolutionTaps(weight: weight), bias: bias)
        Self.expectClose(name, out.channelsFirst(), try ops.tensor("\(name).output"), tolerance: 3e-5)
    }

    @Test("1×1 convolutions: channels-last, and channels-first into channels-last")
    func conv1x1() throws {
        let ops = try Self.ops.get()
        let name = "conv2d.k1s1.bias"
        let input = try ops.tensor("\(name).input"), weight = try ops.tensor("\(name).weight"), bias = try ops.tensor("\(name).bias")
        let golden = try ops.tensor("\(name).output")
        let out = input.channelsLast().conv2dChannelsLast(ConvolutionTaps(weight: weight), bias: bias)
        Self.expectClose(name, out.channelsFirst(), golden, tolerance: 3e-5)
        let fromFirst = input.conv1x1ToChannelsLast(weight: weight) + bias
        Self.expectClose(name + " from NCHW", fromFirst.channelsFirst(), golden, tolerance: 3e-5)
    }

    @Test("group norm over channels-last maps", arguments: ["groupnorm.g8.c64", "groupnorm.g8.c256", "groupnorm.g32.c64"])
    func groupNorm(_ name: String) throws {
        let ops = try Self.ops.get()
        var x = try ops.tensor("\(name).input").channelsLast()
        let groups = name.contains(".g8.") ? 8 : 32
        x.applyGroupNorm(groups: groups, weight: try ops.tensor("\(name).weight"), bias: try ops.tensor("\(name).bias"), layout: .channelsLast)
        Self.expectClose(name, x.channelsFirst(), try ops.tensor("\(name).output"), tolerance: 3e-5)
    }

    @Test("group norm with statistics split over pixel chunks equals the NCHW op, ReLU fused")
    func groupNormLarge() {
        let x = Self.random([2, 64, 40, 50], seed: 7, scale: 2, offset: 0.5)
        let weight = Self.random([64], seed: 8, scale: 0.1, offset: 1), bias = Self.random([64], seed: 9, scale: 0.1)
        var y = x.channelsLast()
        y.applyGroupNorm(groups: 8, weight: weight, bias: bias, layout: .channelsLast, relu: true)
        var z = x
        z.applyGroupNorm(groups: 8, weight: weight, bias: bias, layout: .channelsFirst, relu: true)
        Self.expectClose("groupNorm 2×64×40×50", y.channelsFirst(), z, tolerance: 3e-5)
    }

    @Test("layer norm over rows, in place and not")
    func layerNorm() throws {
        let ops = try Self.ops.get()
        let name = "layernorm.eps1e-5.d64"
        let input = try ops.tensor("\(name).input"), golden = try ops.tensor("\(name).output")
        let weight = try ops.tensor("\(name).weight"), bias = try ops.tensor("\(name).bias")
        Self.expectClose(name, input.layerNorm(weight: weight, bias: bias, eps: 1e-5), golden, tolerance: 3e-5)
        var x = input
        x.applyLayerNorm(weight: weight, bias: bias, eps: 1e-5)
        Self.expectClose(name + " in place", x, golden, tolerance: 3e-5)
        #expect(input.scalars != x.scalars, "the in-place form must not write through a shared input")
    }

    @Test("multi-head attention in query blocks equals nn.MultiheadAttention", arguments: ["mha.e64h8.kpm", "mha.e32h8.selfattn"])
    func attention(_ name: String) throws {
        let ops = try Self.ops.get()
        let query = try ops.tensor("\(name).query"), key = try ops.tensor("\(name).key"), value = try ops.tensor("\(name).value")
        let weights = MultiheadAttentionWeights(
            inProjWeight: try ops.tensor("\(name).in_proj_weight"), inProjBias: try ops.tensor("\(name).in_proj_bias"),
            outProjWeight: try ops.tensor("\(name).out_proj_weight"), outProjBias: try ops.tensor("\(name).out_proj_bias"))
        let batch = query.shape[1], s = key.shape[0]
        let mask: [[Bool]]? = name.hasSuffix("kpm")
            ? try { let flat = try ops.bools("\(name).key_padding_mask"); return (0..<batch).map { Array(flat[($0 * s)..<(($0 + 1) * s)]) } }()
            : nil
        let golden = try ops.tensor("\(name).output")
        // Small blocks so that several query blocks per head are exercised too.
        for block in [1024, 3] {
            let out = multiheadAttention(query: query, key: key, value: value, weights: weights, heads: 8, keyPaddingMask: mask,
                                         needWeights: false, residual: nil, blockRows: block).output
            Self.expectClose("\(name) block \(block)", out, golden, tolerance: 3e-5)
            let withResidual = multiheadAttention(query: query, key: key, value: value, weights: weights, heads: 8, keyPaddingMask: mask,
                                                  needWeights: false, residual: query, blockRows: block).output
            Self.expectClose("\(name) block \(block) + residual", withResidual, golden + query, tolerance: 3e-5)
        }
    }

    @Test("feed-forward in row blocks equals linear2(relu(linear1(x))) (+ x)", arguments: [1, 7, 256])
    func feedForward(_ block: Int) {
        let x = Self.random([3, 11, 16], seed: 11)
        let w1 = Self.random([40, 16], seed: 12, scale: 0.3), b1 = Self.random([40], seed: 13, scale: 0.1)
        let w2 = Self.random([16, 40], seed: 14, scale: 0.3), b2 = Self.random([16], seed: 15, scale: 0.1)
        let reference = x.linear(weight: w1, bias: b1).relu().linear(weight: w2, bias: b2)
        let plain = x.feedForward(hiddenWeight: w1, hiddenBias: b1, outputWeight: w2, outputBias: b2, addingInput: false, blockRows: block)
        Self.expectClose("ffn block \(block)", plain, reference, tolerance: 1e-6)
        let residual = x.feedForward(hiddenWeight: w1, hiddenBias: b1, outputWeight: w2, outputBias: b2, addingInput: true, blockRows: block)
        Self.expectClose("ffn + x block \(block)", residual, reference + x, tolerance: 1e-6)
    }

    @Test("embedding rows are gathered in order")
    func gather() {
        let table = Tensor(shape: [4, 2], elements: [0, 1, 10, 11, 20, 21, 30, 31])
        #expect(table.gatheringRows([2, 0, 2]).scalars == [20, 21, 0, 1, 20, 21])
        #expect(table.gatheringRows([]).shape == [0, 2])
    }
}
