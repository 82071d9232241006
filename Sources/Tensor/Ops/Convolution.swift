// 2-D convolution (im2col + GEMM, or a direct GEMM for 1×1 stride-1) and max pooling, NCHW.

extension Tensor {
    /// Target size, in floats, of one im2col chunk (a block of output rows is unfolded at a time, so
    /// the scratch buffer stays bounded; at least one output row per chunk), per core when the
    /// convolution is split across cores. A tuning knob for benchmarks; set it before running
    /// convolutions, not concurrently with them. 2 Mi floats (8 MiB) measured best on 1 and 2 cores
    /// (the chunks of one call are balanced, so no small last GEMM).
    nonisolated(unsafe) public static var im2colChunkElements = 1 << 21

    /// Convolutions of at least this many multiply-adds (Cout·K·N·OH·OW) are split across cores by
    /// output rows when OpenBLAS and `Parallel` both have more than one thread. A tuning knob for
    /// benchmarks and tests (0 forces the split); set it before running convolutions.
    nonisolated(unsafe) public static var convSplitMinimumMACs: Double = 2_097_152

    /// torch `F.conv2d` (groups = 1) on (N, Cin, H, W) with weight (Cout, Cin, kh, kw) and optional
    /// bias (Cout), the same stride, padding and dilation in both directions.
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, dilation: Int = 1) -> Tensor {
        conv2d(weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation))
    }

    /// torch `F.conv2d` (groups = 1) with separate (vertical, horizontal) stride, padding and dilation.
    ///
    /// A 1×1 stride-1 unpadded convolution is one GEMM per image on the NCHW data (no copy). Any other
    /// shape unfolds the input (im2col) into a reused scratch buffer, in chunks of output rows so the
    /// buffer stays cache-sized, and multiplies each chunk by the weight matrix. When OpenBLAS and
    /// `Parallel` have several threads and the convolution is large enough (`convSplitMinimumMACs`),
    /// each core takes a contiguous share of the (image, output row) pairs and unfolds and multiplies
    /// it with GEMMs on its own thread (`TensorRuntime.withThreadCount(1)`), so no core idles during an
    /// unfold. The bias is written into the output first and accumulated by the GEMM (β = 1).
    public func conv2d(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)) -> Tensor {
        conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, chunkElements: Tensor.im2colChunkElements)
    }

    /// torch `F.conv2d(x, weight, bias, stride=1, padding=1)` of a 3×3 weight on (N, Cin, H, W), held
    /// by the layer with its lazily built Winograd transform: by Winograd F(4×4, 3×3) where
    /// `Tensor.winogradPays` says so (the input is converted to channels-last and the result back, one
    /// tiled transpose each), else by `conv2d(weight:bias:stride:padding:)`.
    public func conv2d(winograd: LazyWinogradKernel, bias: Tensor?) -> Tensor {
        precondition(rank == 4 && shape[1] == winograd.inChannels,
                     "conv2d: input \(shape) does not match weight \(winograd.weight.shape) (N, Cin, H, W) × (Cout, Cin, 3, 3)")
        guard Tensor.winogradPays(images: shape[0], cin: shape[1], cout: winograd.outChannels, height: shape[2], width: shape[3]) else {
            return conv2d(weight: winograd.weight, bias: bias, stride: 1, padding: 1)
        }
        return channelsLast().winogradConv2dChannelsLast(winograd.kernel, bias: bias).channelsFirst()
    }

    /// `conv2d` with an explicit im2col chunk size (tests exercise one-row chunks with it), minimum size
    /// for splitting across cores, and number of cores (nil: `Parallel.threadCount`); tests force both
    /// paths with them.
    func conv2d(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), chunkElements: Int,
                splitMinimumMACs: Double = Tensor.convSplitMinimumMACs, workers: Int? = nil) -> Tensor {
        precondition(rank == 4 && weight.rank == 4 && weight.shape[1] == shape[1],
                     "conv2d: input \(shape) does not match weight \(weight.shape) (N, Cin, H, W) × (Cout, Cin, kh, kw)")
        precondition(stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0,
                     "conv2d: invalid stride \(stride), padding \(padding) or dilation \(dilation)")
        let n = shape[0], cin = shape[1], h = shape[2], w = shape[3]
        let cout = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3]
        if let bias { precondition(bias.shape == [cout], "conv2d: bias \(bias.shape) does not match weight \(weight.shape)") }
        let oh = (h + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
        let ow = (w + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
        precondition(oh > 0 && ow > 0, "conv2d: kernel \(weight.shape) larger than padded input \(shape)")
        let k = cin * kh * kw, ohw = oh * ow, hw = h * w
        let x = contiguous(), wt = weight.contiguous(), b = bias?.contiguous()

        return Tensor(shape: [n, cout, oh, ow]) { out in
            guard let o = out.baseAddress, n > 0, cout > 0 else { return }
            var beta: Float = 0
            if let b {
                let bp = b.storage.base + b.offset
                for img in 0..<n {
                    for c in 0..<cout { (o + (img * cout + c) * ohw).update(repeating: bp[c], count: ohw) }
                }
                beta = 1
            } else if k == 0 {
                out.initialize(repeating: 0)
            }
            guard k > 0 else { return }
            let xp = UnsafePointer(x.storage.base + x.offset), wp = UnsafePointer(wt.storage.base + wt.offset)
            withExtendedLifetime((x, wt, b)) {
                if kh == 1 && kw == 1 && stride == (1, 1) && padding == (0, 0) {
                    for img in 0..<n {
                        BLAS.sgemm(m: cout, n: hw, k: cin, a: wp, lda: cin, b: xp + img * cin * hw, ldb: hw,
                                   beta: beta, c: o + img * cout * ohw, ldc: ohw)
                    }
                    return
                }
                let geometry = Im2colGeometry(cin: cin, h: h, w: w, kh: kh, kw: kw, oh: oh, ow: ow,
                                              stride: stride, padding: padding, dilation: dilation)
                // Output rows per im2col chunk: about `chunkElements` floats of columns, at least one row.
                let rowsPerChunk = Swift.max(1, Swift.min(oh, chunkElements / Swift.max(k * ow, 1)))
                let workers = Swift.min(workers ?? Parallel.threadCount, n * oh)
                if workers > 1 && Double(cout) * Double(k) * Double(n * ohw) >= splitMinimumMACs {
                    // Each core unfolds and multiplies its own share of the (image, output row) pairs
                    // with single-threaded GEMMs: no core waits while another unfolds.
                    let units = n * oh, dst = UncheckedSendable(o)
                    let share = (units + workers - 1) / workers
                    Parallel.forEach(workers) { range in
                        for worker in range {
                            let lo = worker * share, hi = Swift.min(units, lo + share)
                            guard lo < hi else { continue }
                            let perChunk = Self.balancedChunk(hi - lo, maximum: rowsPerChunk)
                            // This worker's GEMMs run on its own thread (no nested split).
                            TensorRuntime.withThreadCount(1) { ScratchPool.shared.withBuffer(count: k * perChunk * ow) { cols in
                                var u = lo
                                while u < hi {
                                    let img = u / oh, y0 = u % oh
                                    let rows = Swift.min(perChunk, oh - y0, hi - u)
                                    geometry.unfoldSerial(image: xp + img * cin * hw, rows: y0..<(y0 + rows), kernelRows: 0..<k, into: cols)
                                    BLAS.sgemm(m: cout, n: rows * ow, k: k, a: wp, lda: k, b: cols, ldb: rows * ow,
                                               beta: beta, c: dst.value + img * cout * ohw + y0 * ow, ldc: ohw)
                                    u += rows
                                }
                            } }
                        }
                    }
                    return
                }
                let perChunk = Self.balancedChunk(oh, maximum: rowsPerChunk)
                ScratchPool.shared.withBuffer(count: k * perChunk * ow) { cols in
                    for img in 0..<n {
                        var y0 = 0
                        while y0 < oh {
                            let rows = Swift.min(perChunk, oh - y0)
                            geometry.unfold(image: xp + img * cin * hw, rows: y0..<(y0 + rows), into: cols)
                            BLAS.sgemm(m: cout, n: rows * ow, k: k, a: wp, lda: k, b: cols, ldb: rows * ow,
                                       beta: beta, c: o + img * cout * ohw + y0 * ow, ldc: ohw)
                            y0 += rows
                        }
                    }
                }
            }
        }
    }

    /// Chunk length for `count` items in as few chunks of at most `maximum` as possible, of nearly
    /// equal lengths (no small last chunk whose GEMM would run inefficiently).
    static func balancedChunk(_ count: Int, maximum: Int) -> Int {
        let chunks = (count + maximum - 1) / maximum
        return (count + chunks - 1) / chunks
    }

    /// torch `F.max_pool2d(kernel, stride, padding)` on (N, C, H, W): padding acts as −inf, floor
    /// output size, NaN propagates.
    public func maxPool2d(kernel: Int, stride: Int, padding: Int) -> Tensor {
        precondition(rank == 4 && kernel > 0 && stride > 0 && padding >= 0 && padding * 2 <= kernel,
                     "maxPool2d: kernel \(kernel) stride \(stride) padding \(padding) invalid for \(shape)")
        let planes = shape[0] * shape[1], h = shape[2], w = shape[3]
        let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
        precondition(oh > 0 && ow > 0, "maxPool2d: kernel \(kernel) larger than padded input \(shape)")
        return withUnsafeBufferPointer { src in
            Tensor(shape: [shape[0], shape[1], oh, ow]) { dst in
                guard planes > 0, let s0 = src.baseAddress, let d0 = dst.baseAddress else { return }
                let ps = UncheckedSendable(s0), pd = UncheckedSendable(d0)
                // Separable: per output row, the NaN-propagating maximum over the window's input rows
                // (contiguous, SIMD), then over each window's columns of that row. The stem's 3×3/2 pool
                // took 7 % of the backbone's CPU time as a scalar, branchy 9-tap loop.
                Parallel.forEach(planes, minChunk: Swift.max(1, 8192 / (oh * ow))) { range in
                    let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: w)
                    defer { rowMax.deallocate() }
                    for p in range {
                        let x = ps.value + p * h * w, y = pd.value + p * oh * ow
                        for oy in 0..<oh {
                            let iy0 = Swift.max(oy * stride - padding, 0), iy1 = Swift.min(oy * stride - padding + kernel, h)
                            rowMax.update(from: x + iy0 * w, count: w)
                            for iy in (iy0 + 1)..<Swift.max(iy1, iy0 + 1) {
                                Tensor.nanMaximum(into: rowMax, with: x + iy * w, count: w)
                            }
                            for ox in 0..<ow {
                                let ix0 = Swift.max(ox * stride - padding, 0), ix1 = Swift.min(ox * stride - padding + kernel, w)
                                var m = rowMax[ix0]
                                for ix in (ix0 + 1)..<Swift.max(ix1, ix0 + 1) { m = MaxOp()(m, rowMax[ix]) }
                                y[oy * ow + ox] = m
                            }
                        }
                    }
                }
            }
        }
    }

    /// `a[i] = max(a[i], b[i])` with torch's NaN propagation (a NaN in either wins; `MaxOp`, vectorised).
    @inline(__always)
    static func nanMaximum(into a: UnsafeMutablePointer<Float>, with b: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let u = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            let v = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            let takeV = (v .> u) .| (v .!= v)
            UnsafeMutableRawPointer(a + i).storeBytes(of: u.replacing(with: v, where: takeV), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            a[i] = MaxOp()(a[i], b[i])
            i += 1
        }
    }
}

/// The unfold (im2col) of one image for a convolution: column matrix row r = (c, i, j) of the kernel,
/// column = output position (oy, ox), zero where the kernel tap falls into padding.
struct Im2colGeometry {
    let cin, h, w, kh, kw, oh, ow: Int
    let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)

    /// Writes rows `(c, i, j)` × columns `rows × ow` (output rows `rows`) into `cols`, parallel over
    /// the kernel rows.
    func unfold(image: UnsafePointer<Float>, rows: Range<Int>, into cols: UnsafeMutablePointer<Float>) {
        let k = cin * kh * kw, width = rows.count * ow
        let src = UncheckedSendable(image), dst = UncheckedSendable(cols)
        // OpenBLAS runs no threads of its own (see `BLAS`), so no spinning GEMM workers compete with
        // a parallel unfold between two GEMMs.
        let minChunk = Swift.max(1, 16384 / Swift.max(width, 1))
        Parallel.forEach(k, minChunk: minChunk) { range in
            unfoldSerial(image: src.value, rows: rows, kernelRows: range, into: dst.value)
        }
    }

    /// `out[ox] = row[2 · ox]` for `ox` in `range`, 16 at a time where `row[2 · ox ..< 2 · ox + 32]`
    /// stays below `rowEnd` (the vector load reads one element past the last one kept).
    @inline(__always)
    static func gatherEven(from row: UnsafePointer<Float>, to out: UnsafeMutablePointer<Float>, range: Range<Int>, rowEnd: Int) {
        var ox = range.lowerBound
        let vectorEnd = Swift.min(range.upperBound - 15, (rowEnd - 30) / 2)  // ox + 16 ≤ end and 2·ox + 32 ≤ rowEnd
        let src = UnsafeRawPointer(row), dst = UnsafeMutableRawPointer(out)
        while ox < vectorEnd {
            let pair = src.loadUnaligned(fromByteOffset: 8 * ox, as: SIMD32<Float>.self)
            dst.storeBytes(of: pair.evenHalf, toByteOffset: 4 * ox, as: SIMD16<Float>.self)
            ox += 16
        }
        while ox < range.upperBound {
            out[ox] = row[2 * ox]
            ox += 1
        }
    }

    /// Writes rows `kernelRows` of the unfold (output rows `rows`) into `cols` on the calling thread.
    func unfoldSerial(image: UnsafePointer<Float>, rows: Range<Int>, kernelRows: Range<Int>, into cols: UnsafeMutablePointer<Float>) {
        let width = rows.count * ow
        for r in kernelRows {
            let c = r / (kh * kw), i = (r / kw) % kh, j = r % kw
            let plane = image + c * h * w
            var out = cols + r * width
            let dx = j * dilation.1 - padding.1
            // Output columns whose input x is inside [0, w): ox in [oxLo, oxHi).
            let oxLo = Swift.min(ow, dx >= 0 ? 0 : (-dx + stride.1 - 1) / stride.1)
            let oxHi = Swift.max(oxLo, Swift.min(ow, dx >= w ? 0 : (w - 1 - dx) / stride.1 + 1))
            for oy in rows {
                let iy = oy * stride.0 - padding.0 + i * dilation.0
                if iy < 0 || iy >= h {
                    out.update(repeating: 0, count: ow)
                } else {
                    let row = plane + iy * w + dx
                    if oxLo > 0 { out.update(repeating: 0, count: oxLo) }
                    if stride.1 == 1 {
                        (out + oxLo).update(from: row + oxLo, count: oxHi - oxLo)
                    } else if stride.1 == 2 {
                        Self.gatherEven(from: row, to: out, range: oxLo..<oxHi, rowEnd: w - dx)
                    } else {
                        let s = stride.1
                        for ox in oxLo..<oxHi { out[ox] = row[ox * s] }
                    }
                    if oxHi < ow { (out + oxHi).update(repeating: 0, count: ow - oxHi) }
                }
                out += ow
            }
        }
    }
}
