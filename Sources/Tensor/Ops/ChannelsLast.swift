// Ops on channels-last image batches (N, H, W, C): layout conversion, convolutions, GroupNorm and
// resizing, for layers that alternate convolutions with token-wise blocks (ReferFormer's pixel decoder).
//
// Why a channels-last layout: in (N, H, W, C) every pixel is a row of C values, exactly the `(t h w) c`
// token matrix of a transformer block, so 1×1 convolutions, attention projections, FFNs and LayerNorms
// are plain row GEMMs and loops, and a k×k convolution runs as k² accumulating GEMMs over one
// zero-padded copy of its input (no im2col, which is k² times the input). Layers keep NCHW at their
// boundaries like the rest of the model and convert once per stage with `channelsLast()` /
// `channelsFirst()`. Ops whose layout matters say which one they take in their name or `layout:`.

extension Tensor {
    // MARK: Layout conversion

    /// (N, C, H, W) → (N, H, W, C) contiguous (einops `b c h w -> b h w c`). A contiguous input goes
    /// through a tiled transpose; a strided one that already is a permuted channels-last buffer (a view
    /// of a token matrix) is copied as it is.
    public func channelsLast() -> Tensor {
        precondition(rank == 4, "channelsLast expects (N, C, H, W), got \(shape)")
        let permuted = self.permuted([0, 2, 3, 1])
        if permuted.isContiguous || !isContiguous { return permuted.contiguous() }
        return transposingFrames(rows: shape[1], columns: shape[2] * shape[3], resultShape: permuted.shape)
    }

    /// (N, H, W, C) → (N, C, H, W) contiguous (einops `b h w c -> b c h w`), tiled transpose.
    public func channelsFirst() -> Tensor {
        precondition(rank == 4, "channelsFirst expects (N, H, W, C), got \(shape)")
        let permuted = self.permuted([0, 3, 1, 2])
        if permuted.isContiguous || !isContiguous { return permuted.contiguous() }
        return transposingFrames(rows: shape[1] * shape[2], columns: shape[3], resultShape: permuted.shape)
    }

    /// Per image, the (rows × columns) matrix of this contiguous tensor transposed, in 32×32 tiles (a
    /// plain strided copy touches a new cache line for every element).
    private func transposingFrames(rows: Int, columns: Int, resultShape: [Int]) -> Tensor {
        let frames = shape[0], tile = 32
        let rowTiles = (rows + tile - 1) / tile
        return withUnsafeBufferPointer { xp in
            Tensor(shape: resultShape) { out in
                guard let s0 = xp.baseAddress, let d0 = out.baseAddress, rows * columns > 0 else { return }
                let (src, dst) = (UncheckedSendable(s0), UncheckedSendable(d0))
                Parallel.forEach(frames * rowTiles, minChunk: 4) { range in
                    for job in range {
                        let (f, r0) = (job / rowTiles, (job % rowTiles) * tile)
                        let (s, d) = (src.value + f * rows * columns, dst.value + f * rows * columns)
                        let r1 = Swift.min(r0 + tile, rows)
                        var c0 = 0
                        while c0 < columns {
                            let c1 = Swift.min(c0 + tile, columns)
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

    // MARK: Convolutions

    /// torch `F.conv2d` with stride 1 and zero padding (k−1)/2 ("same" size) on a channels-last batch:
    /// (N, H, W, Cin) → (N, H, W, Cout), optional bias (Cout).
    ///
    /// The input of an image is copied once into a zero-bordered (H+2p)×(W+2p) buffer, p = (k−1)/2.
    /// Read as a matrix of rows of Cin, that buffer shifted by `ky·(W+2p) + kx` rows is, for every
    /// output pixel (y, x) with x < W, exactly the input pixel under tap (ky, kx); so the convolution is
    /// k² accumulating GEMMs over H·(W+2p) "pixels", of which the 2p per row that wrap around are
    /// discarded (2p/W extra arithmetic, no im2col buffer). Equal to torch's conv2d up to the order of
    /// the float sums; the bias is added after the last tap. A 3×3 kernel with a Winograd transform
    /// runs as `winogradConv2dChannelsLast` where `Tensor.winogradPays` says so.
    public func conv2dChannelsLast(_ kernel: ConvolutionTaps, bias: Tensor?) -> Tensor {
        precondition(rank == 4 && shape[3] == kernel.inChannels, "conv2dChannelsLast: input \(shape) does not fit taps \(kernel.taps.shape)")
        let (n, h, w, cin) = (shape[0], shape[1], shape[2], shape[3])
        let cout = kernel.outChannels, k = kernel.kernelSize, pad = (k - 1) / 2
        if let bias { precondition(bias.shape == [cout], "conv2dChannelsLast: bias \(bias.shape) for \(cout) channels") }
        if k == 1 {
            return linear(weight: kernel.taps.reshaped([cout, cin]), bias: bias)
        }
        if let winograd = kernel.winograd, Tensor.winogradPays(images: n, cin: cin, cout: cout, height: h, width: w) {
            return winogradConv2dChannelsLast(winograd.kernel, bias: bias)
        }
        let pw = w + 2 * pad
        let paddedRows = (h + 2 * pad) * pw + 2 * pad  // the last tap reads 2p rows past the padded map (discarded)
        let rows = h * pw
        let biasValues = bias?.scalars ?? []
        let x = contiguous()
        return Tensor(shape: [n, h, w, cout]) { y in
            guard n * h * w * cout > 0, let yBase = y.baseAddress else { return }
            let dstAll = UncheckedSendable(yBase)
            ScratchPool.shared.withBuffer(count: paddedRows * cin) { p in
                p.initialize(repeating: 0, count: paddedRows * cin)
                ScratchPool.shared.withBuffer(count: rows * cout) { s in
                    let scratch = UncheckedSendable(UnsafePointer(s))
                    x.withUnsafeBufferPointer { xp in
                        kernel.taps.withUnsafeBufferPointer { tp in
                            for f in 0..<n {
                                let src = xp.baseAddress! + f * h * w * cin
                                for yy in 0..<h {
                                    (p + ((yy + pad) * pw + pad) * cin).update(from: src + yy * w * cin, count: w * cin)
                                }
                                for tap in 0..<(k * k) {
                                    let (ky, kx) = (tap / k, tap % k)
                                    BLAS.sgemm(transB: .transposed, m: rows, n: cout, k: cin,
                                               a: p + (ky * pw + kx) * cin, lda: cin,
                                               b: tp.baseAddress! + tap * cout * cin, ldb: cin,
                                               beta: tap == 0 ? 0 : 1, c: s, ldc: cout)
                                }
                                let dst = UncheckedSendable(dstAll.value + f * h * w * cout)
                                Parallel.forEach(h, minChunk: 8) { range in
                                    for yy in range {
                                        for xx in 0..<w {
                                            let o = dst.value + (yy * w + xx) * cout
                                            let i = scratch.value + (yy * pw + xx) * cout
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

    /// A 1×1 convolution without bias from a channels-first batch to a channels-last one:
    /// (N, Cin, H, W) × weight (Cout, Cin, 1, 1) → (N, H, W, Cout). One GEMM per image reading the
    /// input transposed, so the input is never converted separately.
    public func conv1x1ToChannelsLast(weight: Tensor) -> Tensor {
        precondition(rank == 4, "conv1x1ToChannelsLast expects (N, Cin, H, W), got \(shape)")
        let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let cout = weight.shape[0]
        precondition(weight.shape == [cout, cin, 1, 1], "conv1x1ToChannelsLast: input \(shape) does not fit weight \(weight.shape)")
        let hw = h * w
        return withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                Tensor(shape: [n, h, w, cout]) { y in
                    guard n * hw * cout > 0 else { return }
                    if cin == 0 { y.initialize(repeating: 0); return }
                    for f in 0..<n {
                        BLAS.sgemm(transA: .transposed, transB: .transposed, m: hw, n: cout, k: cin,
                                   a: xp.baseAddress! + f * cin * hw, lda: hw,
                                   b: wp.baseAddress!, ldb: cin,
                                   c: y.baseAddress! + f * hw * cout, ldc: cout)
                    }
                }
            }
        }
    }

    // MARK: Normalisation

    /// torch `F.group_norm` (then ReLU when `relu`) in place, on a batch in `layout`.
    ///
    /// Statistics per image and group: biased variance over the C/G channels × H × W values, two
    /// passes accumulating in Double (groups hold up to ~10⁶ values), eps inside the square root, then
    /// the per-channel affine as one `x·scale + shift` per element. Channels-last sums run per channel
    /// over pixel chunks in parallel, then per group.
    public mutating func applyGroupNorm(groups: Int, weight: Tensor, bias: Tensor, eps: Float = 1e-5,
                                        layout: ImageLayout, relu: Bool = false) {
        guard layout == .channelsLast else {
            self = groupNorm(groups: groups, weight: weight, bias: bias, eps: eps)
            if relu { applyReLU() }
            return
        }
        precondition(rank == 4, "applyGroupNorm(.channelsLast) expects (N, H, W, C), got \(shape)")
        let (t, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        precondition(groups > 0 && c % groups == 0 && weight.shape == [c] && bias.shape == [c],
                     "groupNorm: \(groups) groups, input \(shape), weight \(weight.shape), bias \(bias.shape)")
        let hw = h * w, perGroup = c / groups
        let count = Double(hw * perGroup)
        let wv = weight.scalars, bv = bias.scalars
        withUnsafeMutableBufferPointer { buffer in
            guard t * hw * c > 0, let base = buffer.baseAddress else { return }
            for f in 0..<t {
                let frame = UncheckedSendable(base + f * hw * c)
                // Per-channel sums over pixel chunks (in parallel), then per group.
                let chunks = Swift.max(1, Swift.min(Parallel.threadCount, hw / 1024))
                var partial = [Double](repeating: 0, count: chunks * c)
                // Pointer loops (no array bounds checks), so the per-channel sums vectorise.
                func accumulate(_ squaresAround: [Double]?) {
                    partial.withUnsafeMutableBufferPointer { pb in
                        (squaresAround ?? []).withUnsafeBufferPointer { around in
                            let centre = UncheckedSendable(squaresAround == nil ? nil : around.baseAddress)
                            let pbase = UncheckedSendable(pb.baseAddress!)
                            Parallel.forEach(chunks) { range in
                                for chunk in range {
                                    let acc = pbase.value + chunk * c
                                    acc.initialize(repeating: 0, count: c)
                                    for p in (chunk * hw / chunks)..<((chunk + 1) * hw / chunks) {
                                        let row = frame.value + p * c
                                        if let m = centre.value {
                                            for ch in 0..<c {
                                                let d = Double(row[ch]) - m[ch]
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
                }
                func perChannel() -> [Double] {
                    (0..<c).map { ch in (0..<chunks).reduce(0.0) { $0 + partial[$1 * c + ch] } }
                }
                accumulate(nil)
                let sums = perChannel()
                var mean = [Double](repeating: 0, count: groups)
                for g in 0..<groups { mean[g] = sums[(g * perGroup)..<((g + 1) * perGroup)].reduce(0, +) / count }
                accumulate((0..<c).map { mean[$0 / perGroup] })
                let squares = perChannel()
                // y = (x − mean)·rstd·γ + β = x·scale + shift, per channel.
                var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
                for g in 0..<groups {
                    let variance = squares[(g * perGroup)..<((g + 1) * perGroup)].reduce(0, +) / count
                    let rstd = 1 / (variance + Double(eps)).squareRoot()
                    for ch in (g * perGroup)..<((g + 1) * perGroup) {
                        scale[ch] = Float(rstd * Double(wv[ch]))
                        shift[ch] = Float(Double(bv[ch]) - mean[g] * rstd * Double(wv[ch]))
                    }
                }
                scale.withUnsafeBufferPointer { sc in
                    shift.withUnsafeBufferPointer { sh in
                        let (ps, pt) = (UncheckedSendable(sc.baseAddress!), UncheckedSendable(sh.baseAddress!))
                        Parallel.forEach(hw, minChunk: 512) { range in
                            let (s, t) = (ps.value, pt.value)
                            for p in range {
                                let row = frame.value + p * c
                                if relu {
                                    for ch in 0..<c { row[ch] = Swift.max(row[ch] * s[ch] + t[ch], 0) }
                                } else {
                                    for ch in 0..<c { row[ch] = row[ch] * s[ch] + t[ch] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Resampling

    /// torch `F.interpolate(size, mode)` of a channels-last batch (N, H, W, C) → (N, oh, ow, C), the
    /// same index and weight rules as `interpolate(size:mode:)` (legacy nearest, bilinear without
    /// antialias). With `adding` (N, oh, ow, C) the result is `adding + resized` (a fused skip
    /// connection: the FPN's top-down sum, a block's residual).
    public func interpolateChannelsLast(size: (height: Int, width: Int), mode: InterpolationMode, adding base: Tensor? = nil) -> Tensor {
        precondition(rank == 4 && size.height > 0 && size.width > 0, "interpolateChannelsLast: input \(shape) to size \(size)")
        let (t, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let (oh, ow) = size
        if let base { precondition(base.shape == [t, oh, ow, c], "interpolateChannelsLast: adding \(base.shape), expected \([t, oh, ow, c])") }
        let baseValues = base?.contiguous()
        return withUnsafeBufferPointer { xp in
            Tensor(shape: [t, oh, ow, c]) { y in
                guard t * oh * ow * c > 0, let out0 = y.baseAddress, let src0 = xp.baseAddress else { return }
                let (out, src) = (UncheckedSendable(out0), UncheckedSendable(src0))
                switch mode {
                case .nearest:
                    let ys = Tensor.nearestIndices(input: h, output: oh), xs = Tensor.nearestIndices(input: w, output: ow)
                    func fill(_ add: UncheckedSendable<UnsafePointer<Float>>?) {
                        Parallel.forEach(t * oh, minChunk: 8) { range in
                            for fy in range {
                                let (f, oy) = (fy / oh, fy % oh)
                                for ox in 0..<ow {
                                    let o = out.value + (fy * ow + ox) * c
                                    let i = src.value + ((f * h + ys[oy]) * w + xs[ox]) * c
                                    if let add {
                                        let a = add.value + (fy * ow + ox) * c
                                        for ch in 0..<c { o[ch] = a[ch] + i[ch] }
                                    } else {
                                        o.initialize(from: i, count: c)
                                    }
                                }
                            }
                        }
                    }
                    if let baseValues {
                        baseValues.withUnsafeBufferPointer { fill(UncheckedSendable($0.baseAddress!)) }
                    } else {
                        fill(nil)
                    }
                case .bilinear(let alignCorners):
                    let ys = Tensor.bilinearTaps(input: h, output: oh, alignCorners: alignCorners)
                    let xs = Tensor.bilinearTaps(input: w, output: ow, alignCorners: alignCorners)
                    if let baseValues {
                        baseValues.withUnsafeBufferPointer { out0.initialize(from: $0.baseAddress!, count: $0.count) }
                    } else {
                        y.initialize(repeating: 0)
                    }
                    Parallel.forEach(t * oh, minChunk: 4) { range in
                        for fy in range {
                            let (f, oy) = (fy / oh, fy % oh)
                            let ty = ys[oy]
                            let r0 = src.value + (f * h + ty.i0) * w * c, r1 = src.value + (f * h + ty.i1) * w * c
                            let dstRow = out.value + fy * ow * c
                            for ox in 0..<ow {
                                let tx = xs[ox]
                                let a = r0 + tx.i0 * c, b = r0 + tx.i1 * c, cc = r1 + tx.i0 * c, d = r1 + tx.i1 * c
                                let o = dstRow + ox * c
                                // torch's order: λy0·(λx0·a + λx1·b) + λy1·(λx0·c + λx1·d), added to the skip.
                                for ch in 0..<c {
                                    o[ch] += ty.l0 * (tx.l0 * a[ch] + tx.l1 * b[ch]) + ty.l1 * (tx.l0 * cc[ch] + tx.l1 * d[ch])
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
