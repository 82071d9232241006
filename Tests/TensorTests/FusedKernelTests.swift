// The vectorised / fused kernels of the performance work (issue #15) against the plain loops they
// replace (kept in the sources as references) and against float64 recomputations.
import Testing
@_spi(KernelReference) @testable import Tensor

@Suite("SIMD deformable-attention sampler")
struct DeformableSamplerTests {
    /// Random inputs with several levels, sampling locations partly outside [0, 1] (corners that fall
    /// off the map, whole samples that are skipped) and a batch of two.
    static func inputs(d: Int, heads: Int = 3, points: Int = 3, seed: UInt64)
        -> (value: Tensor, shapes: [(h: Int, w: Int)], starts: [Int], locations: Tensor, weights: Tensor) {
        let shapes: [(h: Int, w: Int)] = [(7, 9), (4, 5), (2, 3), (1, 1)]
        var starts: [Int] = [], s = 0
        for shape in shapes { starts.append(s); s += shape.h * shape.w }
        let (n, lq, levels) = (2, 11, shapes.count)
        let value = Tensor.randomNormal(shape: [n, s, heads, d], seed: seed)
        let locations = Tensor.randomUniform(shape: [n, lq, heads, levels, points, 2], in: -0.2..<1.2, seed: seed + 1)
        let weights = Tensor.randomUniform(shape: [n, lq, heads, levels, points], in: 0..<1, seed: seed + 2)
        return (value, shapes, starts, locations, weights)
    }

    @Test("equal to the bit to the per-channel loop for head widths 32, 64, 8, 24, 5 and 1 and 3, 4, 5 or 9 points (SIMD4 groups and tails)",
          arguments: [32, 64, 8, 24, 5, 1], [3, 4, 5, 9])
    func matchesReference(d: Int, points: Int) {
        let x = Self.inputs(d: d, points: points, seed: UInt64(d * 10 + points))
        let fast = msDeformAttnCore(value: x.value, spatialShapes: x.shapes, levelStartIndex: x.starts,
                                    samplingLocations: x.locations, attentionWeights: x.weights)
        let reference = msDeformAttnCoreReference(value: x.value, spatialShapes: x.shapes, levelStartIndex: x.starts,
                                                  samplingLocations: x.locations, attentionWeights: x.weights)
        #expect(fast.shape == reference.shape)
        #expect(fast.scalars == reference.scalars)
    }

    @Test("the SIMD floor equals rounded(.down) on halves, near-integers, tiny negatives and -1 < x < 2^21")
    func simdFloor() {
        var values: [Float] = [-0.999_999, -0.5, -1e-9, -0.0, 0, 1e-9, 0.5, 1.5, 2.5, 0.999_999_94, 1, 1_048_575.5, 2_097_151.9]
        values += Tensor.randomUniform(shape: [4000], in: -1..<700, seed: 9).scalars
        for i in stride(from: 0, to: values.count - 3, by: 4) {
            let v = SIMD4<Float>(values[i], values[i + 1], values[i + 2], values[i + 3])
            let f = MSDeformGeometry.floor(v)
            for lane in 0..<4 { #expect(f[lane] == v[lane].rounded(.down), "floor(\(v[lane])) = \(f[lane])") }
        }
    }

    @Test("a strided value view gives the same result as its contiguous copy, on one and two workers")
    func stridedAndThreads() {
        let x = Self.inputs(d: 32, seed: 99)
        // (N, S, M, D) as a permuted view of an (N, M, S, D) buffer.
        let strided = x.value.permuted([0, 2, 1, 3]).contiguous().permuted([0, 2, 1, 3])
        #expect(!strided.isContiguous)
        let one = TensorRuntime.withThreadCount(1) {
            msDeformAttnCore(value: strided, spatialShapes: x.shapes, levelStartIndex: x.starts,
                             samplingLocations: x.locations, attentionWeights: x.weights)
        }
        let two = TensorRuntime.withThreadCount(2) {
            msDeformAttnCore(value: x.value, spatialShapes: x.shapes, levelStartIndex: x.starts,
                             samplingLocations: x.locations, attentionWeights: x.weights)
        }
        #expect(one.scalars == two.scalars)
    }

    @Test("agrees with a float64 bilinear recomputation within float rounding")
    func float64() {
        let x = Self.inputs(d: 16, heads: 2, points: 2, seed: 5)
        let out = msDeformAttnCore(value: x.value, spatialShapes: x.shapes, levelStartIndex: x.starts,
                                   samplingLocations: x.locations, attentionWeights: x.weights).scalars
        let v = x.value.scalars, loc = x.locations.scalars, aw = x.weights.scalars
        let (n, s, m, d) = (x.value.shape[0], x.value.shape[1], x.value.shape[2], x.value.shape[3])
        let (lq, levels, p) = (x.locations.shape[1], x.shapes.count, x.locations.shape[4])
        var worst = 0.0
        for b in 0..<n {
            for q in 0..<lq {
                for head in 0..<m {
                    for c in 0..<d {
                        var sum = 0.0
                        for l in 0..<levels {
                            let (h, w) = (x.shapes[l].h, x.shapes[l].w)
                            for pt in 0..<p {
                                let i = (((b * lq + q) * m + head) * levels + l) * p + pt
                                let px = Double(loc[2 * i]) * Double(w) - 0.5, py = Double(loc[2 * i + 1]) * Double(h) - 0.5
                                let x0 = px.rounded(.down), y0 = py.rounded(.down)
                                for (yy, xx) in [(y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)] {
                                    guard yy >= 0, xx >= 0, Int(yy) < h, Int(xx) < w else { continue }
                                    let weight = (1 - abs(px - xx)) * (1 - abs(py - yy))
                                    let row = x.starts[l] + Int(yy) * w + Int(xx)
                                    sum += Double(aw[i]) * weight * Double(v[((b * s + row) * m + head) * d + c])
                                }
                            }
                        }
                        worst = max(worst, abs(sum - Double(out[((b * lq + q) * m + head) * d + c])))
                    }
                }
            }
        }
        #expect(worst < 2e-5, "max |float32 − float64| = \(worst)")
    }
}

@Suite("vectorised LayerNorm")
struct VectorisedLayerNormTests {
    @Test("matches the previous loop and a float64 recomputation; in-place and out-of-place agree", arguments: [256, 768, 13, 1])
    func matches(d: Int) {
        // Rows with a large common offset: the Double moments must not lose the small spread.
        let x = Tensor.randomNormal(shape: [3, 37, d], seed: UInt64(d)) * 0.5 + 100
        let w = Tensor.randomNormal(shape: [d], seed: 1), b = Tensor.randomNormal(shape: [d], seed: 2)
        let y = x.layerNorm(weight: w, bias: b, eps: 1e-5)
        var inPlace = x
        inPlace.applyLayerNorm(weight: w, bias: b, eps: 1e-5)
        #expect(inPlace.scalars == y.scalars)
        let reference = x.layerNormReference(weight: w, bias: b, eps: 1e-5).scalars
        let xs = x.scalars, ws = w.scalars, bs = b.scalars, ys = y.scalars
        var worstReference: Float = 0, worst64 = 0.0
        for r in 0..<(x.count / d) {
            let row = xs[(r * d)..<((r + 1) * d)].map(Double.init)
            let mean = row.reduce(0, +) / Double(d)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
            for i in 0..<d {
                let exact = (row[i] - mean) / (variance + 1e-5).squareRoot() * Double(ws[i]) + Double(bs[i])
                worst64 = max(worst64, abs(exact - Double(ys[r * d + i])))
                worstReference = max(worstReference, abs(reference[r * d + i] - ys[r * d + i]))
            }
        }
        // Float rounding of x − mean at |x| ≈ 100 is ~4e-6 before the ×(1/σ ≈ 2) scale.
        #expect(worst64 < 5e-5, "max |float32 − float64| = \(worst64)")
        #expect(worstReference <= 1e-6, "max |new − previous loop| = \(worstReference)")
    }

    @Test("a transposed (strided) input and no affine parameters")
    func stridedNoAffine() {
        let x = Tensor.randomNormal(shape: [64, 9], seed: 3).transposed(0, 1)  // rows of 64, strided
        let y = x.layerNorm(weight: nil, bias: nil, eps: 1e-12)
        let reference = x.contiguous().layerNormReference(weight: nil, bias: nil, eps: 1e-12)
        #expect(y.shape == [9, 64])
        let worst = zip(y.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(worst <= 1e-6, "max |new − previous loop| = \(worst)")
    }
}

@Suite("feed-forward blocks")
struct FeedForwardBlockTests {
    @Test("default 512-row blocks, with and without biases, equal linear2(relu(linear1(x))) (+ x)", arguments: [true, false])
    func blocks(biases: Bool) {
        let (rows, c, f) = (1100, 24, 40)  // three blocks, the last one partial
        let x = Tensor.randomNormal(shape: [rows, c], seed: 21)
        let w1 = Tensor.randomNormal(shape: [f, c], seed: 22), w2 = Tensor.randomNormal(shape: [c, f], seed: 23)
        let b1 = biases ? Tensor.randomNormal(shape: [f], seed: 24) : nil, b2 = biases ? Tensor.randomNormal(shape: [c], seed: 25) : nil
        let y = x.feedForward(hiddenWeight: w1, hiddenBias: b1, outputWeight: w2, outputBias: b2, addingInput: true)
        let expected = x + x.linear(weight: w1, bias: b1).relu().linear(weight: w2, bias: b2)
        // Same products, different GEMM blocking: equal up to float summation order.
        let worst = zip(y.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 1
        let scale = expected.scalars.map(abs).max() ?? 1
        #expect(y.shape == [rows, c] && worst <= 1e-6 * scale, "max error \(worst) at scale \(scale)")
    }
}

@Suite("multi-head attention with per-worker row ranges")
struct RowRangeAttentionTests {
    static func weights(_ e: Int, seed: UInt64) -> MultiheadAttentionWeights {
        MultiheadAttentionWeights(inProjWeight: Tensor.randomNormal(shape: [3 * e, e], seed: seed) * 0.2,
                                  inProjBias: Tensor.randomNormal(shape: [3 * e], seed: seed + 1) * 0.1,
                                  outProjWeight: Tensor.randomNormal(shape: [e, e], seed: seed + 2) * 0.2,
                                  outProjBias: Tensor.randomNormal(shape: [e], seed: seed + 3) * 0.1)
    }

    @Test("equals the previous per-head loop: cross-attention with a padding mask, head-averaged weights, residual, small blocks",
          arguments: [(700, 5, 3), (33, 33, 1000), (1, 9, 2)])
    func matchesReference(l: Int, s: Int, block: Int) {
        let (n, e, heads) = (2, 32, 4)
        let query = Tensor.randomNormal(shape: [l, n, e], seed: 31), key = Tensor.randomNormal(shape: [s, n, e], seed: 32)
        let value = Tensor.randomNormal(shape: [s, n, e], seed: 33), residual = Tensor.randomNormal(shape: [l, n, e], seed: 34)
        let mask = [(0..<s).map { $0 == s - 1 && s > 1 }, [Bool](repeating: false, count: s)]
        let w = Self.weights(e, seed: 40)
        for threads in [1, 2, 3] {
            let new = TensorRuntime.withThreadCount(threads) {
                multiheadAttention(query: query, key: key, value: value, weights: w, heads: heads, keyPaddingMask: mask,
                                   needWeights: true, residual: residual, blockRows: block)
            }
            let old = multiheadAttentionReference(query: query, key: key, value: value, weights: w, heads: heads, keyPaddingMask: mask,
                                                  needWeights: true, residual: residual, blockRows: block)
            // The same GEMMs on row ranges of the same operands: equal up to OpenBLAS's blocking.
            let outError = zip(new.output.scalars, old.output.scalars).map { abs($0 - $1) }.max() ?? 1
            let weightError = zip(new.weights!.scalars, old.weights!.scalars).map { abs($0 - $1) }.max() ?? 1
            #expect(outError <= 1e-5 && weightError <= 1e-6, "\(threads) workers: output error \(outError), weights error \(weightError)")
        }
    }
}
