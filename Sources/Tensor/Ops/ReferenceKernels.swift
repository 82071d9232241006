// The plain loops that the vectorised kernels replaced (issue #15), kept verbatim as references:
// the tests check the new kernels against them, and `referstream-bench kernels` times both in one run.
// Not used by the model. `@_spi(KernelReference)` keeps them out of the public interface.

#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// The previous `layerNorm`: copy-on-write of the input, then per row two scalar Double passes for
    /// the moments and the affine pass with array-indexed parameters.
    @_spi(KernelReference)
    public func layerNormReference(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        var y = self
        let d = shape[rank - 1]
        let rows = d == 0 ? 0 : count / d
        let w = weight?.scalars, b = bias?.scalars
        y.withUnsafeMutableBufferPointer { buffer in
            guard rows > 0, let base = buffer.baseAddress else { return }
            let pd = UncheckedSendable(base)
            Parallel.forEach(rows, minChunk: Swift.max(1, 16384 / d)) { range in
                for r in range {
                    let x = pd.value + r * d
                    var sum = 0.0
                    for i in 0..<d { sum += Double(x[i]) }
                    let meanD = sum / Double(d)
                    var sq = 0.0
                    for i in 0..<d { let c = Double(x[i]) - meanD; sq += c * c }
                    let (mean, rstd) = (Float(meanD), Float(1 / (sq / Double(d) + Double(eps)).squareRoot()))
                    switch (w, b) {
                    case let (w?, b?): for i in 0..<d { x[i] = (x[i] - mean) * rstd * w[i] + b[i] }
                    case let (w?, nil): for i in 0..<d { x[i] = (x[i] - mean) * rstd * w[i] }
                    case let (nil, b?): for i in 0..<d { x[i] = (x[i] - mean) * rstd + b[i] }
                    case (nil, nil): for i in 0..<d { x[i] = (x[i] - mean) * rstd }
                    }
                }
            }
        }
        return y
    }
}

/// The previous `msDeformAttnCore` loop (per channel, accumulating in the output; parallel over
/// queries), kept verbatim as the reference the SIMD sampler is tested and timed against.
@_spi(KernelReference)
public func msDeformAttnCoreReference(value: Tensor, spatialShapes: [(h: Int, w: Int)], levelStartIndex: [Int],
                                      samplingLocations: Tensor, attentionWeights: Tensor) -> Tensor {
    let g = MSDeformGeometry(value: value, spatialShapes: spatialShapes, levelStartIndex: levelStartIndex,
                             samplingLocations: samplingLocations, attentionWeights: attentionWeights)
    let (n, lq, m, d, levels, p, sLen) = (g.n, g.lq, g.m, g.d, g.levels, g.points, g.sLen)
    let v = value.contiguous(), loc = samplingLocations.contiguous(), aw = attentionWeights.contiguous()
    let hs = g.hs, ws = g.ws, starts = g.starts
    return Tensor(shape: [n, lq, m * d]) { out in
        guard let o = out.baseAddress, n * lq * m * d > 0 else { return }
        out.initialize(repeating: 0)
        let vp = UncheckedSendable(UnsafePointer(v.storage.base + v.offset))
        let lp = UncheckedSendable(UnsafePointer(loc.storage.base + loc.offset))
        let ap = UncheckedSendable(UnsafePointer(aw.storage.base + aw.offset))
        let op = UncheckedSendable(o)
        withExtendedLifetime((v, loc, aw)) {
            Parallel.forEach(n * lq, minChunk: Swift.max(1, 256 / Swift.max(m * levels * p, 1))) { range in
                let rowStride = m * d
                for nq in range {
                    let b = nq / lq
                    let valueBase = vp.value + b * sLen * rowStride
                    for head in 0..<m {
                        let acc = op.value + nq * rowStride + head * d
                        let headValue = valueBase + head * d
                        for lvl in 0..<levels {
                            let h = hs[lvl], w = ws[lvl]
                            let levelValue = headValue + starts[lvl] * rowStride
                            let base = ((nq * m + head) * levels + lvl) * p
                            for pt in 0..<p {
                                let a = ap.value[base + pt]
                                let gx = lp.value[(base + pt) * 2] * 2 - 1, gy = lp.value[(base + pt) * 2 + 1] * 2 - 1
                                let x = ((gx + 1) / 2) * Float(w) - 0.5
                                let y = ((gy + 1) / 2) * Float(h) - 0.5
                                guard x > -1, y > -1, x < Float(w), y < Float(h) else { continue }
                                let x0f = x.rounded(.down), y0f = y.rounded(.down)
                                let x0 = Int(x0f), y0 = Int(y0f)
                                let fx = x - x0f, fy = y - y0f
                                let w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy
                                @inline(__always) func tap(_ yy: Int, _ xx: Int, _ weight: Float) {
                                    guard yy >= 0, yy < h, xx >= 0, xx < w else { return }
                                    let src = levelValue + (yy * w + xx) * rowStride
                                    let f = weight * a
                                    for c in 0..<d { acc[c] += f * src[c] }
                                }
                                tap(y0, x0, w00)
                                tap(y0, x0 + 1, w01)
                                tap(y0 + 1, x0, w10)
                                tap(y0 + 1, x0 + 1, w11)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The previous `multiheadAttention` core: per (batch, head, block of rows) a parallel GEMM, a parallel
/// softmax pass and a parallel GEMM.
@_spi(KernelReference)
public func multiheadAttentionReference(query: Tensor, key: Tensor, value: Tensor, weights: MultiheadAttentionWeights,
                                        heads: Int, keyPaddingMask: [[Bool]]? = nil, needWeights: Bool = false,
                                        residual: Tensor? = nil, blockRows: Int = 1024) -> (output: Tensor, weights: Tensor?) {
    let p = AttentionProjections(query: query, key: key, value: value, weights: weights, heads: heads,
                                 keyPaddingMask: keyPaddingMask, residual: residual)
    let (l, n, e, s, d, scale, q, k, v) = (p.l, p.n, p.e, p.s, p.d, p.scale, p.q, p.k, p.v)
    let block = Swift.min(Swift.max(blockRows, 1), Swift.max(l, 1))

    var meanWeights: Tensor?
    let context = Tensor(shape: [l, n, e]) { ctx in
        guard let c = ctx.baseAddress, l > 0, n > 0 else { return }
        if s == 0 { ctx.initialize(repeating: 0); return }  // no keys: the products are empty sums
        var avg = needWeights ? Tensor.zeros([n, l, s]) : nil
        ScratchPool.shared.withBuffer(count: block * s) { scores in
            let qp = q.storage.base + q.offset, kp = k.storage.base + k.offset, vp = v.storage.base + v.offset
            withExtendedLifetime((q, k, v)) {
                for b in 0..<n {
                    let mask = keyPaddingMask?[b]
                    for h in 0..<heads {
                        var start = 0
                        while start < l {
                            let rows = Swift.min(block, l - start)
                            // scores (rows, S) = q[start..., b, h] (row stride N·E) · k[:, b, h]ᵀ / √D
                            BLAS.sgemm(transB: .transposed, m: rows, n: s, k: d, alpha: scale,
                                       a: qp + start * n * e + b * e + h * d, lda: n * e, b: kp + b * e + h * d, ldb: n * e,
                                       c: scores, ldc: s)
                            let sp = UncheckedSendable(scores)
                            Parallel.forEach(rows, minChunk: Swift.max(1, 4096 / s)) { range in
                                for row in range {
                                    let r = sp.value + row * s
                                    if let mask { for j in 0..<s where mask[j] { r[j] = -.infinity } }
                                    Tensor.softmaxRow(r, r, s)
                                }
                            }
                            if avg != nil {
                                avg!.withUnsafeMutableBufferPointer { a in
                                    let dst = a.baseAddress! + (b * l + start) * s
                                    let inv = 1 / Float(heads)
                                    for i in 0..<(rows * s) { dst[i] += scores[i] * inv }
                                }
                            }
                            // context[start..., b, h] (rows, D) = P (rows, S) · v[:, b, h] (S, D)
                            BLAS.sgemm(m: rows, n: d, k: s, a: scores, lda: s, b: vp + b * e + h * d, ldb: n * e,
                                       c: c + start * n * e + b * e + h * d, ldc: n * e)
                            start += rows
                        }
                    }
                }
            }
        }
        meanWeights = avg
    }
    let output = context.linear(weight: weights.outProjWeight, bias: weights.outProjBias, residual: residual)
    return (output, meanWeights)
}
