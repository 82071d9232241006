// Multi-head attention (torch `nn.MultiheadAttention`, eval) and the multi-scale deformable attention
// core (Deformable-DETR `ms_deform_attn_core_pytorch`).

#if canImport(Glibc)
import Glibc
#endif

/// The parameters of a torch `nn.MultiheadAttention` (packed in-projection).
public struct MultiheadAttentionWeights: Sendable {
    /// (3E, E): rows [0, E) project queries, [E, 2E) keys, [2E, 3E) values.
    public var inProjWeight: Tensor
    /// (3E)
    public var inProjBias: Tensor
    /// (E, E)
    public var outProjWeight: Tensor
    /// (E)
    public var outProjBias: Tensor

    public init(inProjWeight: Tensor, inProjBias: Tensor, outProjWeight: Tensor, outProjBias: Tensor) {
        self.inProjWeight = inProjWeight
        self.inProjBias = inProjBias
        self.outProjWeight = outProjWeight
        self.outProjBias = outProjBias
    }
}

/// torch `nn.MultiheadAttention(E, heads)` forward in eval mode, sequence-first.
///
/// - Parameters:
///   - query: (L, N, E); key and value: (S, N, E).
///   - keyPaddingMask: N rows of S flags, `true` = the key is ignored (−inf before the softmax; a
///     row with every key ignored gives NaN, as in torch).
///   - needWeights: also return the attention probabilities averaged over heads, (N, L, S).
/// - Returns: the output (L, N, E) and, when asked, the head-averaged weights.
///
/// Queries are scaled by 1/√(E/heads) after projection. Each (batch, head) pair is two GEMMs on
/// strided views of the projected tensors (no head split copies).
public func multiheadAttention(query: Tensor, key: Tensor, value: Tensor, weights: MultiheadAttentionWeights,
                               heads: Int, keyPaddingMask: [[Bool]]? = nil, needWeights: Bool = false) -> (output: Tensor, weights: Tensor?) {
    precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "multiheadAttention expects (L, N, E) inputs, got \(query.shape), \(key.shape), \(value.shape)")
    let l = query.shape[0], n = query.shape[1], e = query.shape[2]
    let s = key.shape[0]
    precondition(key.shape == [s, n, e] && value.shape == [s, n, e], "multiheadAttention: key \(key.shape) / value \(value.shape) do not match query \(query.shape)")
    precondition(heads > 0 && e % heads == 0, "multiheadAttention: \(heads) heads do not divide embedding \(e)")
    precondition(weights.inProjWeight.shape == [3 * e, e] && weights.inProjBias.shape == [3 * e] && weights.outProjWeight.shape == [e, e] && weights.outProjBias.shape == [e],
                 "multiheadAttention: weight shapes \(weights.inProjWeight.shape) \(weights.inProjBias.shape) \(weights.outProjWeight.shape) \(weights.outProjBias.shape) do not match E = \(e)")
    if let keyPaddingMask { precondition(keyPaddingMask.count == n && keyPaddingMask.allSatisfy { $0.count == s }, "multiheadAttention: key padding mask is not \(n) × \(s)") }
    let d = e / heads
    let scale = 1 / Float(d).squareRoot()

    let q = query.linear(weight: weights.inProjWeight.sliced(0, 0..<e), bias: weights.inProjBias.sliced(0, 0..<e)) * scale
    let k = key.linear(weight: weights.inProjWeight.sliced(0, e..<(2 * e)), bias: weights.inProjBias.sliced(0, e..<(2 * e)))
    let v = value.linear(weight: weights.inProjWeight.sliced(0, (2 * e)..<(3 * e)), bias: weights.inProjBias.sliced(0, (2 * e)..<(3 * e)))

    var meanWeights: Tensor?
    let context = Tensor(shape: [l, n, e]) { ctx in
        guard let c = ctx.baseAddress, l > 0, n > 0 else { return }
        var avg = needWeights ? Tensor.zeros([n, l, s]) : nil
        ScratchPool.shared.withBuffer(count: Swift.max(l * s, 1)) { scores in
            let qp = q.storage.base + q.offset, kp = k.storage.base + k.offset, vp = v.storage.base + v.offset
            withExtendedLifetime((q, k, v)) {
                for b in 0..<n {
                    let mask = keyPaddingMask?[b]
                    for h in 0..<heads {
                        // scores (L, S) = q[:, b, h] (L, d, row stride N·E) · k[:, b, h]ᵀ
                        BLAS.sgemm(transB: .transposed, m: l, n: s, k: d,
                                   a: qp + b * e + h * d, lda: n * e, b: kp + b * e + h * d, ldb: n * e,
                                   c: scores, ldc: s)
                        let sp = UncheckedSendable(scores)
                        Parallel.forEach(l, minChunk: Swift.max(1, 4096 / Swift.max(s, 1))) { range in
                            for row in range {
                                let r = sp.value + row * s
                                if let mask { for j in 0..<s where mask[j] { r[j] = -.infinity } }
                                Tensor.softmaxRow(r, r, s)
                            }
                        }
                        if avg != nil {
                            avg!.withUnsafeMutableBufferPointer { a in
                                let dst = a.baseAddress! + b * l * s
                                let inv = 1 / Float(heads)
                                for i in 0..<(l * s) { dst[i] += scores[i] * inv }
                            }
                        }
                        // context[:, b, h] (L, d) = P (L, S) · v[:, b, h] (S, d)
                        BLAS.sgemm(m: l, n: d, k: s, a: scores, lda: s, b: vp + b * e + h * d, ldb: n * e,
                                   c: c + b * e + h * d, ldc: n * e)
                    }
                }
            }
        }
        meanWeights = avg
    }
    let output = context.linear(weight: weights.outProjWeight, bias: weights.outProjBias)
    return (output, meanWeights)
}

/// Multi-scale deformable attention sampling, official `ms_deform_attn_core_pytorch` semantics.
///
/// - Parameters:
///   - value: (N, S, M, D), the projected values of all levels, flattened level-major (y, then x).
///   - spatialShapes: (h, w) of each level; `levelStartIndex`: offset of each level in S.
///   - samplingLocations: (N, Lq, M, L, P, 2), normalised (x, y) in [0, 1] for the map's extent.
///   - attentionWeights: (N, Lq, M, L, P).
/// - Returns: (N, Lq, M·D), head-major.
///
/// Each sample is bilinear at pixel `loc · size − 0.5` (grid_sample, align_corners false), corners
/// outside the map contribute zero. A native loop, parallel over queries.
public func msDeformAttnCore(value: Tensor, spatialShapes: [(h: Int, w: Int)], levelStartIndex: [Int],
                             samplingLocations: Tensor, attentionWeights: Tensor) -> Tensor {
    precondition(value.rank == 4, "msDeformAttnCore: value must be (N, S, M, D), got \(value.shape)")
    let n = value.shape[0], sLen = value.shape[1], m = value.shape[2], d = value.shape[3]
    let levels = spatialShapes.count
    precondition(levelStartIndex.count == levels, "msDeformAttnCore: \(levels) spatial shapes but \(levelStartIndex.count) start indices")
    precondition(samplingLocations.rank == 6 && samplingLocations.shape[0] == n && samplingLocations.shape[2] == m
                 && samplingLocations.shape[3] == levels && samplingLocations.shape[5] == 2,
                 "msDeformAttnCore: sampling locations \(samplingLocations.shape) do not match value \(value.shape) and \(levels) levels")
    let lq = samplingLocations.shape[1], p = samplingLocations.shape[4]
    precondition(attentionWeights.shape == [n, lq, m, levels, p], "msDeformAttnCore: attention weights \(attentionWeights.shape) are not \([n, lq, m, levels, p])")
    for (i, shape) in spatialShapes.enumerated() {
        precondition(levelStartIndex[i] >= 0 && levelStartIndex[i] + shape.h * shape.w <= sLen, "msDeformAttnCore: level \(i) \(shape) at \(levelStartIndex[i]) exceeds S = \(sLen)")
    }
    let v = value.contiguous(), loc = samplingLocations.contiguous(), aw = attentionWeights.contiguous()
    let hs = spatialShapes.map(\.h), ws = spatialShapes.map(\.w), starts = levelStartIndex
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
                                // grid = 2·loc − 1; grid_sample unnormalises ((g + 1) / 2) · size − 0.5.
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
