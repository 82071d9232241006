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
