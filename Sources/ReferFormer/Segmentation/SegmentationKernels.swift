// Kernels of the segmentation part (pixel decoder, dynamic mask head, post-processing), in the
// channels-last layout those layers compute in.
//
// Why a separate set of kernels: the pixel decoder is the most expensive stage of the model
// (≈ 88 GFLOP per 360×640 frame) and alternates 3×3 convolutions with token-wise transformer blocks.
// Keeping every map channels-last — (T, h, w, C), i.e. exactly the `(t h w) c` token matrix of the
// VisionLanguageBlocks — makes the 1×1 convs, attention projections, FFNs and LayerNorms plain row
// GEMMs/loops, and lets a 3×3 convolution run as 9 GEMMs over one zero-padded copy of its input
// (no im2col). Public layer APIs stay NCHW like the rest of the model; the conversion happens once per
// stage. All GEMMs go through `BLAS.sgemm`. Generic ops of the `Tensor` module are used where the
// layout allows; everything here is specific to this layout.
import Tensor

enum SegmentationKernels {
    // MARK: Layout

    /// (T, C, h, w) → (T, h, w, C) contiguous (einops `b c h w -> b h w c`). A contiguous input goes
    /// through a tiled transpose; a tensor that already is a permuted channels-last buffer (e.g. a
    /// view of the encoder's token matrix) is taken as it is.
    static func channelsLast(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "channelsLast expects (T, C, h, w), got \(x.shape)")
        let permuted = x.permuted([0, 2, 3, 1])
        if permuted.isContiguous || !x.isContiguous { return permuted.contiguous() }
        return transposeFrames(x, rows: x.shape[1], columns: x.shape[2] * x.shape[3], resultShape: permuted.shape)
    }

    /// (T, h, w, C) → (T, C, h, w) contiguous (einops `b h w c -> b c h w`), tiled transpose.
    static func channelsFirst(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "channelsFirst expects (T, h, w, C), got \(x.shape)")
        let permuted = x.permuted([0, 3, 1, 2])
        if permuted.isContiguous || !x.isContiguous { return permuted.contiguous() }
        return transposeFrames(x, rows: x.shape[1] * x.shape[2], columns: x.shape[3], resultShape: permuted.shape)
    }

    /// Per frame, the (rows × columns) matrix of a contiguous tensor transposed, in 32×32 tiles
    /// (a plain strided copy touches a new cache line for every element).
    private static func transposeFrames(_ x: Tensor, rows: Int, columns: Int, resultShape: [Int]) -> Tensor {
        let frames = x.shape[0], tile = 32
        let rowTiles = (rows + tile - 1) / tile
        return Tensor(shape: resultShape) { out in
            x.withUnsafeBufferPointer { xp in
                let (src, dst) = (xp.baseAddress!, out.baseAddress!)
                Parallel.forEach(frames * rowTiles, minChunk: 4) { range in
                    for job in range {
                        let (f, r0) = (job / rowTiles, (job % rowTiles) * tile)
                        let (s, d) = (src + f * rows * columns, dst + f * rows * columns)
                        let r1 = min(r0 + tile, rows)
                        var c0 = 0
                        while c0 < columns {
                            let c1 = min(c0 + tile, columns)
                            for r in r0..<r1 {
                                for c in c0..<c1 { d[c * rows + r] = s[r * columns + c] }
                            }
                            c0 = c1
                        }
                    }
                }
            }
        }
    }

    // MARK: Linear maps over rows

    /// `y = residual + x·Wᵀ + b` over the rows of `x` (…, in) → (…, out). `weight` is (out, in).
    /// `residual` (same shape as the result) and `bias` are optional.
    static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, residual: Tensor? = nil) -> Tensor {
        let inFeatures = x.shape[x.rank - 1], outFeatures = weight.shape[0]
        precondition(weight.rank == 2 && weight.shape[1] == inFeatures, "linear: input \(x.shape) does not fit weight \(weight.shape)")
        let rows = x.count / max(inFeatures, 1)
        var outShape = x.shape
        outShape[outShape.count - 1] = outFeatures
        if let residual { precondition(residual.shape == outShape, "linear: residual \(residual.shape) is not \(outShape)") }
        return Tensor(shape: outShape) { y in
            let yp = y.baseAddress!
            if let residual {
                residual.withUnsafeBufferPointer { yp.initialize(from: $0.baseAddress!, count: $0.count) }
            } else {
                yp.initialize(repeating: 0, count: y.count)
            }
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    Parallel.forEach(rows, minChunk: 256) { range in
                        for r in range {
                            let row = yp + r * outFeatures
                            for o in 0..<outFeatures { row[o] += b[o] }
                        }
                    }
                }
            }
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    BLAS.sgemm(transB: .transposed, m: rows, n: outFeatures, k: inFeatures,
                               a: xp.baseAddress!, lda: inFeatures, b: wp.baseAddress!, ldb: inFeatures,
                               beta: 1, c: yp, ldc: outFeatures)
                }
            }
        }
    }

    /// 1×1 convolution without bias from a channels-first map: (T, Cin, h, w) → (T, h, w, Cout).
    /// One GEMM per frame reading the input transposed, so res2 is never converted separately.
    static func conv1x1ChannelsFirstToLast(_ x: Tensor, weight: Tensor) -> Tensor {
        let (t, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cout = weight.shape[0]
        precondition(weight.shape == [cout, cin, 1, 1], "conv1x1: input \(x.shape) does not fit weight \(weight.shape)")
        let hw = h * w
        return Tensor(shape: [t, h, w, cout]) { y in
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    for f in 0..<t {
                        BLAS.sgemm(transA: .transposed, transB: .transposed, m: hw, n: cout, k: cin,
                                   a: xp.baseAddress! + f * cin * hw, lda: hw,
                                   b: wp.baseAddress!, ldb: cin,
                                   c: y.baseAddress! + f * hw * cout, ldc: cout)
                    }
                }
            }
        }
    }

    /// Rearranges a (Cout, Cin, 3, 3) convolution weight into 9 taps (9, Cout, Cin), tap = ky·3 + kx.
    static func convolutionTaps(_ weight: Tensor) -> Tensor {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3, "convolutionTaps expects (Cout, Cin, 3, 3), got \(weight.shape)")
        return weight.permuted([2, 3, 0, 1]).contiguous().reshaped([9, weight.shape[0], weight.shape[1]])
    }

    /// 3×3 convolution, stride 1, zero padding 1, channels-last: (T, h, w, Cin) → (T, h, w, Cout).
    ///
    /// The input of a frame is copied once into a zero-bordered (h+2)×(w+2) buffer. Read as a matrix
    /// of rows of Cin, that buffer shifted by `ky·(w+2) + kx` rows is, for every output pixel (y, x)
    /// with x < w, exactly the input pixel under tap (ky, kx); so the convolution is 9 accumulating
    /// GEMMs over h·(w+2) "pixels", of which the 2 per row that wrap around are discarded. This costs
    /// 2/w extra arithmetic and no im2col buffer (9× the input) — the same result as torch's conv2d up
    /// to the order of the float sums.
    static func conv3x3(_ x: Tensor, taps: Tensor, bias: Tensor?) -> Tensor {
        let (t, h, w, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cout = taps.shape[1]
        precondition(taps.shape == [9, cout, cin], "conv3x3: input \(x.shape) does not fit taps \(taps.shape)")
        let pw = w + 2
        let paddedRows = (h + 2) * pw + 2  // +2: the last tap reads 2 rows past the padded map (discarded)
        let rows = h * pw
        var padded = [Float](repeating: 0, count: paddedRows * cin)
        var scratch = [Float](repeating: 0, count: rows * cout)
        let biasValues = bias?.scalars ?? []
        return Tensor(shape: [t, h, w, cout]) { y in
            x.withUnsafeBufferPointer { xp in
                taps.withUnsafeBufferPointer { tp in
                    padded.withUnsafeMutableBufferPointer { pp in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            let p = pp.baseAddress!, s = sp.baseAddress!
                            for f in 0..<t {
                                let src = xp.baseAddress! + f * h * w * cin
                                for yy in 0..<h {
                                    (p + ((yy + 1) * pw + 1) * cin).update(from: src + yy * w * cin, count: w * cin)
                                }
                                for tap in 0..<9 {
                                    let (ky, kx) = (tap / 3, tap % 3)
                                    BLAS.sgemm(transB: .transposed, m: rows, n: cout, k: cin,
                                               a: p + (ky * pw + kx) * cin, lda: cin,
                                               b: tp.baseAddress! + tap * cout * cin, ldb: cin,
                                               beta: tap == 0 ? 0 : 1, c: s, ldc: cout)
                                }
                                let dst = y.baseAddress! + f * h * w * cout
                                Parallel.forEach(h, minChunk: 8) { range in
                                    for yy in range {
                                        for xx in 0..<w {
                                            let o = dst + (yy * w + xx) * cout
                                            let i = s + (yy * pw + xx) * cout
                                            if biasValues.isEmpty {
                                                o.update(from: i, count: cout)
                                            } else {
                                                for c in 0..<cout { o[c] = i[c] + biasValues[c] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Normalisation

    /// GroupNorm over a channels-last map (T, h, w, C) in place, optionally followed by ReLU.
    /// torch `F.group_norm`: per frame and group, biased variance over (C/G channels × h × w), eps
    /// inside the square root, then the per-channel affine. Statistics accumulate in Double.
    static func groupNorm(_ x: inout Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float = 1e-5, relu: Bool = false) {
        let (t, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(c % groups == 0 && weight.shape == [c] && bias.shape == [c], "groupNorm: \(groups) groups, input \(x.shape), weight \(weight.shape)")
        let hw = h * w, perGroup = c / groups
        let n = Double(hw * perGroup)
        let wv = weight.scalars, bv = bias.scalars
        x.withUnsafeMutableBufferPointer { buffer in
            for f in 0..<t {
                let frame = buffer.baseAddress! + f * hw * c
                // Per-channel sums over pixel chunks (in parallel), then per group.
                let chunks = max(1, min(Parallel.threadCount, hw / 1024))
                var partial = [Double](repeating: 0, count: chunks * c)
                func accumulate(_ squaresAround: [Double]?) {
                    partial.withUnsafeMutableBufferPointer { pb in
                        let pbase = pb.baseAddress!
                        Parallel.forEach(chunks) { range in
                            for chunk in range {
                                let acc = pbase + chunk * c
                                for ch in 0..<c { acc[ch] = 0 }
                                for p in (chunk * hw / chunks)..<((chunk + 1) * hw / chunks) {
                                    let row = frame + p * c
                                    if let squaresAround {
                                        for ch in 0..<c {
                                            let d = Double(row[ch]) - squaresAround[ch]
                                            acc[ch] += d * d
                                        }
                                    } else {
                                        for ch in 0..<c { acc[ch] += Double(row[ch]) }
                                    }
                                }
                            }
                        }
                    }
                }
                func perChannel() -> [Double] {
                    (0..<c).map { ch in (0..<chunks).reduce(0.0) { $0 + partial[$1 * c + ch] } }
                }
                accumulate(nil)
                let sums = perChannel()
                var mean = [Double](repeating: 0, count: groups)
                for g in 0..<groups { mean[g] = sums[(g * perGroup)..<((g + 1) * perGroup)].reduce(0, +) / n }
                accumulate((0..<c).map { mean[$0 / perGroup] })
                let squares = perChannel()
                // y = (x − mean)·rstd·γ + β = x·scale + shift, per channel.
                var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
                for g in 0..<groups {
                    let variance = squares[(g * perGroup)..<((g + 1) * perGroup)].reduce(0, +) / n
                    let rstd = 1 / (variance + Double(eps)).squareRoot()
                    for ch in (g * perGroup)..<((g + 1) * perGroup) {
                        scale[ch] = Float(rstd * Double(wv[ch]))
                        shift[ch] = Float(Double(bv[ch]) - mean[g] * rstd * Double(wv[ch]))
                    }
                }
                Parallel.forEach(hw, minChunk: 512) { range in
                    for p in range {
                        let row = frame + p * c
                        for ch in 0..<c {
                            let v = row[ch] * scale[ch] + shift[ch]
                            row[ch] = relu ? max(v, 0) : v
                        }
                    }
                }
            }
        }
    }

    /// LayerNorm over the last dimension, in place (torch `F.layer_norm`, biased variance).
    static func layerNormRows(_ x: inout Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-5) {
        let c = x.shape[x.rank - 1]
        precondition(weight.shape == [c] && bias.shape == [c], "layerNorm: input \(x.shape), weight \(weight.shape)")
        let rows = x.count / max(c, 1)
        let wv = weight.scalars, bv = bias.scalars
        x.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            Parallel.forEach(rows, minChunk: 128) { range in
                for r in range {
                    let row = base + r * c
                    var sum = 0.0
                    for i in 0..<c { sum += Double(row[i]) }
                    let mean = sum / Double(c)
                    var sq = 0.0
                    for i in 0..<c {
                        let d = Double(row[i]) - mean
                        sq += d * d
                    }
                    let rstd = 1 / (sq / Double(c) + Double(eps)).squareRoot()
                    let m = Float(mean), s = Float(rstd)
                    for i in 0..<c { row[i] = (row[i] - m) * s * wv[i] + bv[i] }
                }
            }
        }
    }

    // MARK: Resampling (channels-last)

    /// torch legacy `mode='nearest'` source index: `min(⌊dst · (in/out)⌋, in − 1)`, scale in Float.
    static func nearestSourceIndices(input: Int, output: Int) -> [Int] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { min(Int((Float($0) * scale).rounded(.down)), input - 1) }
    }

    /// Nearest resize (torch legacy rule) of (T, h, w, C) to (T, oh, ow, C). With `adding`
    /// (T, oh, ow, C) the result is `adding + resized` (the FPN's top-down sum, fused).
    static func resizeNearest(_ x: Tensor, height oh: Int, width ow: Int, adding base: Tensor? = nil) -> Tensor {
        let (t, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ys = nearestSourceIndices(input: h, output: oh), xs = nearestSourceIndices(input: w, output: ow)
        if let base { precondition(base.shape == [t, oh, ow, c], "resizeNearest: base \(base.shape) is not \([t, oh, ow, c])") }
        let baseValues = base?.contiguous()
        return Tensor(shape: [t, oh, ow, c]) { y in
            let out = y.baseAddress!
            x.withUnsafeBufferPointer { xp in
                let src = xp.baseAddress!
                func fill(_ add: UnsafePointer<Float>?) {
                    Parallel.forEach(t * oh, minChunk: 8) { range in
                        for fy in range {
                            let (f, oy) = (fy / oh, fy % oh)
                            for ox in 0..<ow {
                                let o = out + (fy * ow + ox) * c
                                let i = src + ((f * h + ys[oy]) * w + xs[ox]) * c
                                if let add {
                                    let a = add + (fy * ow + ox) * c
                                    for ch in 0..<c { o[ch] = a[ch] + i[ch] }
                                } else {
                                    o.initialize(from: i, count: c)
                                }
                            }
                        }
                    }
                }
                if let baseValues {
                    baseValues.withUnsafeBufferPointer { fill($0.baseAddress!) }
                } else {
                    fill(nil)
                }
            }
        }
    }

    /// One axis of torch's bilinear resize with align_corners=False: `src = max(in/out · (dst + 0.5) − 0.5, 0)`
    /// in Float, i0 = ⌊src⌋, i1 = min(i0 + 1, in − 1), λ1 = src − i0.
    static func bilinearTaps(input: Int, output: Int) -> [(i0: Int, i1: Int, l0: Float, l1: Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { d in
            let src = max(scale * (Float(d) + 0.5) - 0.5, 0)
            let i0 = min(Int(src), input - 1)
            let i1 = min(i0 + 1, input - 1)
            let l1 = src - Float(i0)
            return (i0, i1, 1 - l1, l1)
        }
    }

    /// Bilinear resize, align_corners=False, no antialias (torch `F.interpolate(mode='bilinear')`) of
    /// (T, h, w, C) to (T, oh, ow, C); also serves single-channel maps (T, h, w) viewed with C = 1.
    /// With `adding` (T, oh, ow, C) the result is `adding + resized` (a fused skip connection).
    static func resizeBilinear(_ x: Tensor, height oh: Int, width ow: Int, adding base: Tensor? = nil) -> Tensor {
        let (t, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ys = bilinearTaps(input: h, output: oh), xs = bilinearTaps(input: w, output: ow)
        if let base { precondition(base.shape == [t, oh, ow, c], "resizeBilinear: base \(base.shape) is not \([t, oh, ow, c])") }
        return Tensor(shape: [t, oh, ow, c]) { y in
            let out = y.baseAddress!
            if let base {
                base.withUnsafeBufferPointer { out.initialize(from: $0.baseAddress!, count: $0.count) }
            } else {
                out.initialize(repeating: 0, count: y.count)
            }
            x.withUnsafeBufferPointer { xp in
                let src = xp.baseAddress!
                Parallel.forEach(t * oh, minChunk: 4) { range in
                    for fy in range {
                        let (f, oy) = (fy / oh, fy % oh)
                        let ty = ys[oy]
                        let r0 = src + (f * h + ty.i0) * w * c, r1 = src + (f * h + ty.i1) * w * c
                        let dstRow = out + fy * ow * c
                        for ox in 0..<ow {
                            let tx = xs[ox]
                            let a = r0 + tx.i0 * c, b = r0 + tx.i1 * c, cc = r1 + tx.i0 * c, d = r1 + tx.i1 * c
                            let o = dstRow + ox * c
                            for ch in 0..<c {
                                o[ch] += ty.l0 * (tx.l0 * a[ch] + tx.l1 * b[ch]) + ty.l1 * (tx.l0 * cc[ch] + tx.l1 * d[ch])
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Element-wise

    /// `x + p` where x is (T, h, w, C) and p is (P, h, w, C) with P = 1 (broadcast over frames) or T.
    static func addFrameBroadcast(_ x: Tensor, _ p: Tensor) -> Tensor {
        let t = x.shape[0], perFrame = x.count / max(t, 1)
        precondition(p.count == perFrame || p.count == x.count, "addFrameBroadcast: \(x.shape) + \(p.shape)")
        return Tensor(shape: x.shape) { y in
            x.withUnsafeBufferPointer { xp in
                p.withUnsafeBufferPointer { pp in
                    let (yb, xb, pb) = (y.baseAddress!, xp.baseAddress!, pp.baseAddress!)
                    for f in 0..<t {
                        let pf = pp.count == perFrame ? pb : pb + f * perFrame
                        let (yf, xf) = (yb + f * perFrame, xb + f * perFrame)
                        Parallel.forEach(perFrame, minChunk: 1 << 15) { range in
                            for i in range { yf[i] = xf[i] + pf[i] }
                        }
                    }
                }
            }
        }
    }

    /// Element-wise sum of two tensors of one shape.
    static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: \(a.shape) + \(b.shape)")
        return Tensor(shape: a.shape) { y in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    let (yb, ab, bb) = (y.baseAddress!, ap.baseAddress!, bp.baseAddress!)
                    Parallel.forEach(a.count, minChunk: 1 << 15) { range in
                        for i in range { yb[i] = ab[i] + bb[i] }
                    }
                }
            }
        }
    }
}
