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
///   - residual: (L, N, E); when given the output is `residual + attention` (a layer's skip
///     connection, fused into the output projection).
/// - Returns: the output (L, N, E) and, when asked, the head-averaged weights.
///
/// `in_proj` rows [0, E) project the query, [E, 2E) the key, [2E, 3E) the value (views, no copy);
/// head m owns channels [m·D, (m+1)·D), D = E / heads. Per (batch, head) and block of query rows,
/// `S = (Q_m·K_mᵀ)/√D` (the 1/√D as the GEMM's alpha, where torch scales q before the product: equal
/// up to float rounding) and `O_m = softmax(S)·V_m`, reading Q, K, V in place (leading dimension
/// N·E): memory stays bounded by one block of scores however many tokens attend.
public func multiheadAttention(query: Tensor, key: Tensor, value: Tensor, weights: MultiheadAttentionWeights,
                               heads: Int, keyPaddingMask: [[Bool]]? = nil, needWeights: Bool = false,
                               residual: Tensor? = nil) -> (output: Tensor, weights: Tensor?) {
    multiheadAttention(query: query, key: key, value: value, weights: weights, heads: heads, keyPaddingMask: keyPaddingMask,
                       needWeights: needWeights, residual: residual, blockRows: multiheadAttentionBlockRows)
}

/// Query rows whose scores are computed together per head (bounds the score block to rows × keys).
let multiheadAttentionBlockRows = 1024

/// `multiheadAttention` with an explicit query block size (tests exercise several blocks per head).
func multiheadAttention(query: Tensor, key: Tensor, value: Tensor, weights: MultiheadAttentionWeights,
                        heads: Int, keyPaddingMask: [[Bool]]?, needWeights: Bool, residual: Tensor?,
                        blockRows: Int) -> (output: Tensor, weights: Tensor?) {
    precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "multiheadAttention expects (L, N, E) inputs, got \(query.shape), \(key.shape), \(value.shape)")
    let l = query.shape[0], n = query.shape[1], e = query.shape[2]
    let s = key.shape[0]
    precondition(key.shape == [s, n, e] && value.shape == [s, n, e], "multiheadAttention: key \(key.shape) / value \(value.shape) do not match query \(query.shape)")
    precondition(heads > 0 && e % heads == 0, "multiheadAttention: \(heads) heads do not divide embedding \(e)")
    precondition(weights.inProjWeight.shape == [3 * e, e] && weights.inProjBias.shape == [3 * e] && weights.outProjWeight.shape == [e, e] && weights.outProjBias.shape == [e],
                 "multiheadAttention: weight shapes \(weights.inProjWeight.shape) \(weights.inProjBias.shape) \(weights.outProjWeight.shape) \(weights.outProjBias.shape) do not match E = \(e)")
    if let keyPaddingMask { precondition(keyPaddingMask.count == n && keyPaddingMask.allSatisfy { $0.count == s }, "multiheadAttention: key padding mask is not \(n) × \(s)") }
    if let residual { precondition(residual.shape == [l, n, e], "multiheadAttention: residual \(residual.shape) is not \([l, n, e])") }
    let d = e / heads
    let scale = Float(1 / Double(d).squareRoot())

    func project(_ x: Tensor, _ part: Int) -> Tensor {
        x.linear(weight: weights.inProjWeight.sliced(0, (part * e)..<((part + 1) * e)),
                 bias: weights.inProjBias.sliced(0, (part * e)..<((part + 1) * e)))
    }
    let q = project(query, 0), k = project(key, 1), v = project(value, 2)
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

/// The sampling locations of multi-scale deformable attention (Deformable-DETR `MSDeformAttn.forward`),
/// in the official float32 operation order: `reference + offset / (w_l, h_l)` for point references,
/// `centre + offset / P · (w, h) · 0.5` for box references.
///
/// - Parameters:
///   - offsets: (N, Lq, M·L·P·2) (or any shape of that many elements per query), the
///     `sampling_offsets` projection, (x, y) innermost.
///   - reference: (1 or N, Lq, 2) points or (1 or N, Lq, 4) boxes (cx, cy, w, h), normalised.
///   - spatialShapes: (h, w) of each of the L levels.
/// - Returns: (N, Lq, M, L, P, 2).
public func msDeformSamplingLocations(offsets: Tensor, reference: Tensor, spatialShapes: [(h: Int, w: Int)],
                                      heads: Int, points: Int) -> Tensor {
    let n = offsets.shape[0], lq = offsets.shape[1], levels = spatialShapes.count
    let refN = reference.shape[0], refDim = reference.shape[2]
    precondition(reference.rank == 3 && reference.shape[1] == lq && (refN == 1 || refN == n) && (refDim == 2 || refDim == 4),
                 "msDeformSamplingLocations: reference \(reference.shape) for query count \(lq), batch \(n)")
    precondition(offsets.count == n * lq * heads * levels * points * 2,
                 "msDeformSamplingLocations: offsets \(offsets.shape) are not (\(n), \(lq), \(heads)·\(levels)·\(points)·2)")
    let ref = reference.scalars
    return offsets.withUnsafeBufferPointer { off in
        Tensor(shape: [n, lq, heads, levels, points, 2]) { out in
            for b in 0..<n {
                for q in 0..<lq {
                    let r = ((refN == 1 ? 0 : b) * lq + q) * refDim
                    for m in 0..<heads {
                        for l in 0..<levels {
                            let w = Float(spatialShapes[l].w), h = Float(spatialShapes[l].h)
                            for p in 0..<points {
                                let i = ((((b * lq + q) * heads + m) * levels + l) * points + p) * 2
                                if refDim == 2 {
                                    out[i] = ref[r] + off[i] / w
                                    out[i + 1] = ref[r + 1] + off[i + 1] / h
                                } else {
                                    out[i] = ref[r] + off[i] / Float(points) * ref[r + 2] * 0.5
                                    out[i + 1] = ref[r + 1] + off[i + 1] / Float(points) * ref[r + 3] * 0.5
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
