// STOPGAP — delete this file once branch `tensor` provides the ops of TENSOR-API.md.
//
// The model was written against the op signatures of TENSOR-API.md while the `tensor` helper was still
// implementing them. These internal stand-ins have the same names and semantics (PyTorch eval
// behaviour, NCHW), so the model code does not change when the real ops arrive; only this file goes.
import Tensor

#if canImport(Glibc)
import Glibc
#endif

// MARK: Structure

extension Tensor {
    static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        let first = tensors[0]
        let d = first.axis(axis)
        var shape = first.shape
        shape[d] = tensors.reduce(0) { $0 + $1.shape[d] }
        let outer = shape[..<d].reduce(1, *)
        let inner = shape[(d + 1)...].reduce(1, *)
        let parts = tensors.map { $0.contiguous() }
        return Tensor(shape: shape) { out in
            var col = 0
            let rowLength = shape[d] * inner
            for t in parts {
                let len = t.shape[d] * inner
                t.withUnsafeBufferPointer { p in
                    for o in 0..<outer {
                        (out.baseAddress! + o * rowLength + col).update(from: p.baseAddress! + o * len, count: len)
                    }
                }
                col += len
            }
        }
    }
}

// MARK: Convolution and pooling

extension Tensor {
    func conv2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, dilation: Int = 1) -> Tensor {
        let n = shape[0], cin = shape[1], h = shape[2], w = shape[3]
        let cout = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3]
        precondition(weight.shape[1] == cin, "conv2d: input \(shape) weight \(weight.shape)")
        let oh = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1
        let ow = (w + 2 * padding - dilation * (kw - 1) - 1) / stride + 1
        let k = cin * kh * kw, hw = oh * ow
        let x = contiguous(), wt = weight.contiguous()
        let direct = kh == 1 && kw == 1 && stride == 1 && padding == 0
        let bias = bias?.scalars
        return Tensor(shape: [n, cout, oh, ow]) { out in
            let col = direct ? nil : UnsafeMutablePointer<Float>.allocate(capacity: k * hw)
            defer { col?.deallocate() }
            x.withUnsafeBufferPointer { px in
                wt.withUnsafeBufferPointer { pw in
                    for img in 0..<n {
                        let src = px.baseAddress! + img * cin * h * w
                        let dst = out.baseAddress! + img * cout * hw
                        let b: UnsafePointer<Float>
                        if let col {
                            let colP = UncheckedPointer(col), srcP = UncheckedPointer(UnsafeMutablePointer(mutating: src))
                            Parallel.forEach(k, minChunk: 8) { range in
                                for row in range {
                                    let c = row / (kh * kw), ky = (row / kw) % kh, kx = row % kw
                                    let plane = srcP.pointer + c * h * w
                                    let d = colP.pointer + row * hw
                                    for oy in 0..<oh {
                                        let iy = oy * stride - padding + ky * dilation
                                        let drow = d + oy * ow
                                        if iy < 0 || iy >= h {
                                            drow.update(repeating: 0, count: ow)
                                            continue
                                        }
                                        let srow = plane + iy * w
                                        for ox in 0..<ow {
                                            let ix = ox * stride - padding + kx * dilation
                                            drow[ox] = (ix >= 0 && ix < w) ? srow[ix] : 0
                                        }
                                    }
                                }
                            }
                            b = UnsafePointer(col)
                        } else {
                            b = src
                        }
                        if let bias {
                            for o in 0..<cout { (dst + o * hw).update(repeating: bias[o], count: hw) }
                        }
                        BLAS.sgemm(m: cout, n: hw, k: k, a: pw.baseAddress!, lda: k, b: b, ldb: hw,
                                   beta: bias == nil ? 0 : 1, c: dst, ldc: hw)
                    }
                }
            }
        }
    }

    func maxPool2d(kernel: Int, stride: Int, padding: Int) -> Tensor {
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
        let x = contiguous()
        return x.withUnsafeBufferPointer { p in
            Tensor(shape: [n, c, oh, ow]) { out in
                for plane in 0..<(n * c) {
                    let s = p.baseAddress! + plane * h * w
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var m = -Float.infinity
                            for ky in 0..<kernel {
                                let iy = oy * stride - padding + ky
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<kernel {
                                    let ix = ox * stride - padding + kx
                                    if ix < 0 || ix >= w { continue }
                                    m = Swift.max(m, s[iy * w + ix])
                                }
                            }
                            out[(plane * oh + oy) * ow + ox] = m
                        }
                    }
                }
            }
        }
    }
}

// MARK: Attention

struct MultiheadAttentionWeights: Sendable {
    var inProjWeight: Tensor
    var inProjBias: Tensor
    var outProjWeight: Tensor
    var outProjBias: Tensor
}

extension Tensor {
    /// torch `nn.MultiheadAttention` eval, sequence-first (L, N, E) / (S, N, E).
    static func multiheadAttention(query: Tensor, key: Tensor, value: Tensor, weights: MultiheadAttentionWeights,
                                   heads: Int, keyPaddingMask: [[Bool]]? = nil, needWeights: Bool = false) -> (output: Tensor, weights: Tensor?) {
        let l = query.shape[0], n = query.shape[1], e = query.shape[2], s = key.shape[0]
        let d = e / heads
        let wq = weights.inProjWeight.sliced(0, 0..<e), wk = weights.inProjWeight.sliced(0, e..<(2 * e))
        let wv = weights.inProjWeight.sliced(0, (2 * e)..<(3 * e))
        let bq = weights.inProjBias.sliced(0, 0..<e), bk = weights.inProjBias.sliced(0, e..<(2 * e))
        let bv = weights.inProjBias.sliced(0, (2 * e)..<(3 * e))
        let q = query.linear(weight: wq, bias: bq) * (1 / Float(d).squareRoot())
        let k = key.linear(weight: wk, bias: bk)
        let v = value.linear(weight: wv, bias: bv)
        // (L, N, E) → per (n, head) blocks, computed with sgemm on strided rows (ld = N·E).
        var attnOut = Tensor.zeros([l, n, e])
        q.withUnsafeBufferPointer { pq in
            k.withUnsafeBufferPointer { pk in
                v.withUnsafeBufferPointer { pv in
                    attnOut.withUnsafeMutableBufferPointer { po in
                        let scores = UnsafeMutablePointer<Float>.allocate(capacity: l * s)
                        defer { scores.deallocate() }
                        for b in 0..<n {
                            for h in 0..<heads {
                                let off = b * e + h * d
                                BLAS.sgemm(transB: .transposed, m: l, n: s, k: d, a: pq.baseAddress! + off, lda: n * e,
                                           b: pk.baseAddress! + off, ldb: n * e, c: scores, ldc: s)
                                for i in 0..<l {
                                    let row = scores + i * s
                                    var m = -Float.infinity
                                    for j in 0..<s where !(keyPaddingMask?[b][j] ?? false) { m = Swift.max(m, row[j]) }
                                    var sum: Float = 0
                                    for j in 0..<s {
                                        if keyPaddingMask?[b][j] ?? false { row[j] = 0; continue }
                                        let ex = expf(row[j] - m); row[j] = ex; sum += ex
                                    }
                                    for j in 0..<s { row[j] /= sum }
                                }
                                BLAS.sgemm(m: l, n: d, k: s, a: scores, lda: s, b: pv.baseAddress! + off, ldb: n * e,
                                           c: po.baseAddress! + off, ldc: n * e)
                            }
                        }
                    }
                }
            }
        }
        return (attnOut.linear(weight: weights.outProjWeight, bias: weights.outProjBias), nil)
    }

    /// Official `ms_deform_attn_core_pytorch` as a native loop.
    static func msDeformAttnCore(value: Tensor, spatialShapes: [(h: Int, w: Int)], levelStartIndex: [Int],
                                 samplingLocations: Tensor, attentionWeights: Tensor) -> Tensor {
        let n = value.shape[0], sLen = value.shape[1], m = value.shape[2], d = value.shape[3]
        let lq = samplingLocations.shape[1], levels = samplingLocations.shape[3], points = samplingLocations.shape[4]
        let val = value.contiguous(), loc = samplingLocations.contiguous(), aw = attentionWeights.contiguous()
        return val.withUnsafeBufferPointer { pv in
            loc.withUnsafeBufferPointer { pl in
                aw.withUnsafeBufferPointer { pa in
                    Tensor(shape: [n, lq, m * d]) { out in
                        out.initialize(repeating: 0)
                        let vP = UncheckedPointer(UnsafeMutablePointer(mutating: pv.baseAddress!))
                        let lP = UncheckedPointer(UnsafeMutablePointer(mutating: pl.baseAddress!))
                        let aP = UncheckedPointer(UnsafeMutablePointer(mutating: pa.baseAddress!))
                        let oP = UncheckedPointer(out.baseAddress!)
                        Parallel.forEach(n * lq, minChunk: 16) { range in
                            for nq in range {
                                let b = nq / lq
                                for head in 0..<m {
                                    let o = oP.pointer + nq * m * d + head * d
                                    for lvl in 0..<levels {
                                        let (h, w) = spatialShapes[lvl]
                                        let vBase = vP.pointer + ((b * sLen + levelStartIndex[lvl]) * m + head) * d
                                        for p in 0..<points {
                                            let idx = ((nq * m + head) * levels + lvl) * points + p
                                            let a = aP.pointer[idx]
                                            let x = lP.pointer[idx * 2] * Float(w) - 0.5
                                            let y = lP.pointer[idx * 2 + 1] * Float(h) - 0.5
                                            let x0f = x.rounded(.down), y0f = y.rounded(.down)
                                            let x0 = Int(x0f), y0 = Int(y0f)
                                            let lx = x - x0f, ly = y - y0f
                                            let corners = [(y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx),
                                                           (y0 + 1, x0, ly * (1 - lx)), (y0 + 1, x0 + 1, ly * lx)]
                                            for (cy, cx, cw) in corners where cy >= 0 && cy < h && cx >= 0 && cx < w {
                                                let src = vBase + (cy * w + cx) * m * d
                                                let f = a * cw
                                                for c in 0..<d { o[c] += f * src[c] }
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
}

// MARK: Position encodings

extension Tensor {
    /// Official `PositionEmbeddingSine2D(normalize=True)` without padding → (1, 2F, h, w).
    static func sinePositionEncoding2D(height: Int, width: Int, numPosFeats: Int, temperature: Float = 10000) -> Tensor {
        let f = numPosFeats
        let scale = 2 * Float.pi
        var dimT = [Float](repeating: 0, count: f)
        for k in 0..<f { dimT[k] = powf(temperature, Float(2 * (k / 2)) / Float(f)) }
        return Tensor(shape: [1, 2 * f, height, width]) { out in
            for k in 0..<f {
                for i in 0..<height {
                    let ye = (Float(i + 1) - 0.5) / (Float(height) + 1e-6) * scale
                    let vy = ye / dimT[k]
                    let yv = k % 2 == 0 ? sinf(vy) : cosf(vy)
                    for j in 0..<width {
                        let xe = (Float(j + 1) - 0.5) / (Float(width) + 1e-6) * scale
                        let vx = xe / dimT[k]
                        out[(k * height + i) * width + j] = yv
                        out[((f + k) * height + i) * width + j] = k % 2 == 0 ? sinf(vx) : cosf(vx)
                    }
                }
            }
        }
    }

    /// Official `PositionEmbeddingSine1D(normalize=True)` without padding → (1, F, L).
    static func sinePositionEncoding1D(length: Int, numPosFeats: Int) -> Tensor {
        let f = numPosFeats
        return Tensor(shape: [1, f, length]) { out in
            for k in 0..<f {
                let dim = powf(10000, Float(2 * (k / 2)) / Float(f))
                for t in 0..<length {
                    let xe = Float(t + 1) / (Float(length) + 1e-6) * (2 * Float.pi)
                    out[k * length + t] = k % 2 == 0 ? sinf(xe / dim) : cosf(xe / dim)
                }
            }
        }
    }
}

/// A raw pointer carried into `Parallel.forEach` chunks that write disjoint elements.
struct UncheckedPointer: @unchecked Sendable {
    // Safety: every user writes disjoint index ranges from different chunks, and the buffer outlives
    // the `Parallel.forEach` call (it returns only when all chunks have finished).
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
