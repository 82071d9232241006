import Testing
@testable import Tensor

@Suite("conv2d beyond the golden cases, structure ops, random tensors")
struct ConvolutionTests {
    /// Direct 7-loop convolution in Double.
    static func naiveConv(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)) -> Tensor {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = (h + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (wd + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        var out = [Float]()
        for b in 0..<n { for o in 0..<cout { for y in 0..<oh { for xo in 0..<ow {
            var s = Double(bias?[o] ?? 0)
            for c in 0..<cin { for i in 0..<kh { for j in 0..<kw {
                let iy = y * stride.0 - padding.0 + i * dilation.0, ix = xo * stride.1 - padding.1 + j * dilation.1
                if iy >= 0 && iy < h && ix >= 0 && ix < wd { s += Double(x[b, c, iy, ix]) * Double(w[o, c, i, j]) }
            } } }
            out.append(Float(s))
        } } } }
        return Tensor(shape: [n, cout, oh, ow], elements: out)
    }

    @Test("dilation, asymmetric stride/padding, strided input and small chunks match a naive loop", arguments: [
        ((1, 1), (0, 0), (1, 1)), ((2, 1), (1, 2), (1, 1)), ((1, 1), (2, 2), (2, 2)), ((3, 2), (0, 1), (1, 3)), ((1, 1), (1, 1), (1, 1)),
    ])
    func convMatchesNaive(_ stride: (Int, Int), _ padding: (Int, Int), _ dilation: (Int, Int)) {
        let x = Tensor.randomNormal(shape: [2, 9, 5, 11], seed: 7).transposed(2, 3).contiguous().transposed(2, 3)  // strided view
        let w = Tensor.randomNormal(shape: [4, 5, 3, 3], seed: 8)
        let b = Tensor(shape: [4], elements: [0.5, -1, 2, 0])
        let input = x.sliced(1, 2..<7)
        let expected = Self.naiveConv(input, w, b, stride: stride, padding: padding, dilation: dilation)
        for chunk in [Tensor.im2colChunkElements, 1] {  // 1 = one output row per chunk
            let y = input.conv2d(weight: w, bias: b, stride: stride, padding: padding, dilation: dilation, chunkElements: chunk)
            #expect(y.shape == expected.shape)
            let err = zip(y.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(err < 1e-4, "max error \(err) for stride \(stride) padding \(padding) dilation \(dilation) chunk \(chunk)")
        }
        // 1×1 stride-1 (direct GEMM path) on the same input.
        let w1 = Tensor.randomNormal(shape: [3, 5, 1, 1], seed: 9)
        let e1 = Self.naiveConv(input, w1, nil, stride: (1, 1), padding: (0, 0), dilation: (1, 1))
        let err1 = zip(input.conv2d(weight: w1, bias: nil).scalars, e1.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(err1 < 1e-4)
    }

    /// (h, w, kernel, stride, padding): odd and even sizes, widths that reach the vectorised stride-2
    /// gather (16 outputs at a time) and its scalar tail, ResNet's 7×7 stem and 1×1/3×3 strides.
    @Test("stride-2 gather and the conv split across cores match a naive loop", arguments: [
        (7, 45, 3, 2, 1), (8, 70, 3, 2, 1), (9, 71, 7, 2, 3), (10, 66, 7, 2, 3), (6, 64, 1, 2, 0), (5, 41, 3, 1, 1), (4, 35, 3, 2, 0),
    ])
    func splitAndStride2MatchNaive(_ h: Int, _ w: Int, _ kernel: Int, _ stride: Int, _ padding: Int) {
        let x = Tensor.randomNormal(shape: [2, 3, h, w], seed: 21)
        let wt = Tensor.randomNormal(shape: [5, 3, kernel, kernel], seed: 22)
        let b = Tensor(shape: [5], elements: [1, -2, 0.5, 0, 3])
        let s = (stride, stride), p = (padding, padding)
        let expected = Self.naiveConv(x, wt, b, stride: s, padding: p, dilation: (1, 1))
        // Serial path (never split), split into 2 and 3 shares (shares straddle the two images),
        // each with the default chunk and one-row chunks.
        for (minimum, workers) in [(Double.infinity, 1), (0, 2), (0, 3)] {
            for chunk in [Tensor.im2colChunkElements, 1] {
                let y = x.conv2d(weight: wt, bias: b, stride: s, padding: p, dilation: (1, 1), chunkElements: chunk,
                                 splitMinimumMACs: minimum, workers: workers)
                #expect(y.shape == expected.shape)
                let err = zip(y.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
                #expect(err < 1e-4, "max error \(err) for \(h)x\(w) kernel \(kernel) stride \(stride) padding \(padding) workers \(workers) chunk \(chunk)")
            }
        }
    }

    @Test("max pooling propagates NaN and treats padding as −inf")
    func maxPoolNaN() {
        let x = Tensor(shape: [1, 1, 2, 2], elements: [-5, .nan, -7, -8])
        let y = x.maxPool2d(kernel: 3, stride: 2, padding: 1)
        #expect(y.shape == [1, 1, 1, 1] && y[0, 0, 0, 0].isNaN)
        let z = Tensor(shape: [1, 1, 2, 2], elements: [-5, -6, -7, -8]).maxPool2d(kernel: 3, stride: 2, padding: 1)
        #expect(z.scalars == [-5])
    }

    @Test("separable max pooling equals the direct window maximum (odd sizes, NaNs, SIMD tails)")
    func maxPoolMatchesDirectWindows() {
        var rng = SystemRandomNumberGenerator()
        for (n, c, h, w, kernel, stride, padding) in [(1, 3, 37, 45, 3, 2, 1), (2, 2, 8, 16, 2, 2, 0), (1, 1, 5, 33, 3, 1, 1),
                                                      (1, 2, 17, 17, 5, 3, 2), (1, 1, 1, 1, 1, 1, 0), (1, 4, 90, 160, 3, 2, 1)] {
            var values = (0..<(n * c * h * w)).map { _ in Float.random(in: -3...3, using: &rng) }
            for _ in 0..<(values.count / 50) { values[Int.random(in: 0..<values.count, using: &rng)] = .nan }
            let y = Tensor(shape: [n, c, h, w], elements: values).maxPool2d(kernel: kernel, stride: stride, padding: padding)
            let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
            #expect(y.shape == [n, c, oh, ow])
            var mismatches = 0
            for p in 0..<(n * c) {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var m = -Float.infinity, sawNaN = false
                        for iy in (oy * stride - padding)..<(oy * stride - padding + kernel) where iy >= 0 && iy < h {
                            for ix in (ox * stride - padding)..<(ox * stride - padding + kernel) where ix >= 0 && ix < w {
                                let v = values[p * h * w + iy * w + ix]
                                if v.isNaN { sawNaN = true } else { m = Swift.max(m, v) }
                            }
                        }
                        let got = y.scalars[p * oh * ow + oy * ow + ox]
                        if sawNaN ? !got.isNaN : got != m { mismatches += 1 }
                    }
                }
            }
            #expect(mismatches == 0, "\(mismatches) outputs differ for \([n, c, h, w]) kernel \(kernel) stride \(stride) padding \(padding)")
        }
    }

    @Test("concat, stack, split, chunked")
    func structure() {
        let a = Tensor(shape: [2, 2], elements: [1, 2, 3, 4]), b = Tensor(shape: [2, 1], elements: [5, 6])
        #expect(Tensor.concat([a, b], axis: 1).scalars == [1, 2, 5, 3, 4, 6])
        #expect(Tensor.concat([a, a.transposed()], axis: 0).scalars == [1, 2, 3, 4, 1, 3, 2, 4])
        let s = Tensor.stack([a, a * 10], axis: 1)
        #expect(s.shape == [2, 2, 2] && s.scalars == [1, 2, 10, 20, 3, 4, 30, 40])
        #expect(Tensor.stack([a, a], axis: -1).shape == [2, 2, 2])
        let parts = Tensor(shape: [7], elements: (0..<7).map(Float.init)).split(sizes: [2, 0, 5], axis: 0)
        #expect(parts.map(\.shape) == [[2], [0], [5]] && parts[2].scalars == [2, 3, 4, 5, 6])
        let chunks = Tensor(shape: [7, 1], elements: (0..<7).map(Float.init)).chunked(3, axis: 0)
        #expect(chunks.map { $0.shape[0] } == [3, 3, 1])  // torch.chunk(7, 3) → 3, 3, 1
        #expect(Tensor(shape: [6], repeating: 0).chunked(4, axis: 0).map(\.count) == [2, 2, 2])  // torch gives 3 chunks
    }

    @Test("seeded random tensors are reproducible and have the right moments")
    func random() {
        let a = Tensor.randomNormal(shape: [20000], seed: 42), b = Tensor.randomNormal(shape: [20000], seed: 42)
        #expect(a.scalars == b.scalars)
        let v = a.scalars.map(Double.init)
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05, "mean \(mean) variance \(variance)")
        let u = Tensor.randomUniform(shape: [10000], in: -2..<3, seed: 1).scalars
        #expect(u.allSatisfy { $0 >= -2 && $0 < 3 } && abs(u.reduce(0, +) / 10000 - 0.5) < 0.1)
    }
}

@Suite("grid sampling")
struct GridSampleTests {
    @Test("gridSampleBilinear equals the MSDA core with one level, one point, weight 1")
    func matchesMSDA() {
        let (h, w, c) = (5, 7, 3)
        let input = Tensor.randomNormal(shape: [1, c, h, w], seed: 11)
        let loc = Tensor.randomUniform(shape: [1, 4, 6, 2], in: -0.3..<1.3, seed: 12)  // (N, Ho, Wo, 2) in [0, 1] units
        let sampled = input.gridSampleBilinear(grid: loc * 2 - 1)
        // MSDA: value (1, h·w, 1, c), 24 queries, one head/level/point.
        let value = input.reshaped([1, c, h * w]).transposed(1, 2).reshaped([1, h * w, 1, c])
        let core = msDeformAttnCore(value: value, spatialShapes: [(h, w)], levelStartIndex: [0],
                                    samplingLocations: loc.reshaped([1, 24, 1, 1, 1, 2]), attentionWeights: Tensor.ones([1, 24, 1, 1, 1]))
        let expected = core.reshaped([1, 4, 6, c]).permuted([0, 3, 1, 2])
        let err = zip(sampled.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(sampled.shape == [1, c, 4, 6] && err < 1e-5, "max error \(err)")
    }

    @Test("corners and zero padding by hand")
    func byHand() {
        let x = Tensor(shape: [1, 1, 2, 2], elements: [1, 2, 3, 4])
        // Pixel centres: grid (−0.5, −0.5) → pixel (0, 0); (0, 0) → (0.5, 0.5); (1, 1) → (1.5, 1.5); far out → 0.
        let grid = Tensor(shape: [1, 1, 4, 2], elements: [-0.5, -0.5, 0, 0, 1, 1, 5, 5])
        #expect(x.gridSampleBilinear(grid: grid).scalars == [1, 2.5, 1, 0])
    }
}
