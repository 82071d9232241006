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
    let p = AttentionProjections(query: query, key: key, value: value, weights: weights, heads: heads,
                                 keyPaddingMask: keyPaddingMask, residual: residual)
    let (l, n, e, s, d, scale, q, k, v) = (p.l, p.n, p.e, p.s, p.d, p.scale, p.q, p.k, p.v)
    let block = Swift.min(Swift.max(blockRows, 1), Swift.max(l, 1))

    var meanWeights: Tensor?
    let context = Tensor(shape: [l, n, e]) { ctx in
        guard let c = ctx.baseAddress, l > 0, n > 0 else { return }
        if s == 0 { ctx.initialize(repeating: 0); return }  // no keys: the products are empty sums
        let avg = needWeights ? Tensor.zeros([n, l, s]) : nil
        let qp = UncheckedSendable(UnsafePointer(q.storage.base + q.offset)), kp = UncheckedSendable(UnsafePointer(k.storage.base + k.offset))
        let vp = UncheckedSendable(UnsafePointer(v.storage.base + v.offset)), cp = UncheckedSendable(c)
        let avgPointer = UncheckedSendable(avg.map { $0.storage.base + $0.offset })  // fresh zeros, unshared
        // Each worker takes a range of query rows through every batch and head on its own (single-
        // threaded GEMMs, its own score block): one dispatch per call instead of three per (head,
        // block), which dominated the cross-attention to a few words. Workers write disjoint rows.
        let rowMACs = heads * s * d * 2
        withExtendedLifetime((q, k, v, avg)) {
            Parallel.forEach(l, minChunk: Swift.max(1, BLAS.splitMinimumMACs / Swift.max(rowMACs, 1))) { range in
                Parallel.$scopedThreadCount.withValue(1) {
                    ScratchPool.shared.withBuffer(count: Swift.min(block, range.count) * s) { scores in
                        for b in 0..<n {
                            let mask = keyPaddingMask?[b]
                            for h in 0..<heads {
                                var start = range.lowerBound
                                while start < range.upperBound {
                                    let rows = Swift.min(block, range.upperBound - start)
                                    // scores (rows, S) = q[start..., b, h] (row stride N·E) · k[:, b, h]ᵀ / √D
                                    BLAS.sgemm(transB: .transposed, m: rows, n: s, k: d, alpha: scale,
                                               a: qp.value + start * n * e + b * e + h * d, lda: n * e, b: kp.value + b * e + h * d, ldb: n * e,
                                               c: scores, ldc: s)
                                    for row in 0..<rows {
                                        let r = scores + row * s
                                        if let mask { for j in 0..<s where mask[j] { r[j] = -.infinity } }
                                        Tensor.softmaxRow(r, r, s)
                                    }
                                    if let a = avgPointer.value {
                                        let dst = a + (b * l + start) * s
                                        let inv = 1 / Float(heads)
                                        for i in 0..<(rows * s) { dst[i] += scores[i] * inv }
                                    }
                                    // context[start..., b, h] (rows, D) = P (rows, S) · v[:, b, h] (S, D)
                                    BLAS.sgemm(m: rows, n: d, k: s, a: scores, lda: s, b: vp.value + b * e + h * d, ldb: n * e,
                                               c: cp.value + start * n * e + b * e + h * d, ldc: n * e)
                                    start += rows
                                }
                            }
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

/// The checked sizes of one `multiheadAttention` call and its projected queries, keys and values
/// (`in_proj` rows [0, E), [E, 2E), [2E, 3E) as weight views, no copy).
struct AttentionProjections {
    let l, n, e, s, d: Int
    /// 1/√D, the scores' GEMM alpha.
    let scale: Float
    let q, k, v: Tensor

    init(query: Tensor, key: Tensor, value: Tensor, weights: MultiheadAttentionWeights, heads: Int,
         keyPaddingMask: [[Bool]]?, residual: Tensor?) {
        precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "multiheadAttention expects (L, N, E) inputs, got \(query.shape), \(key.shape), \(value.shape)")
        let l = query.shape[0], n = query.shape[1], e = query.shape[2]
        let s = key.shape[0]
        precondition(key.shape == [s, n, e] && value.shape == [s, n, e], "multiheadAttention: key \(key.shape) / value \(value.shape) do not match query \(query.shape)")
        precondition(heads > 0 && e % heads == 0, "multiheadAttention: \(heads) heads do not divide embedding \(e)")
        precondition(weights.inProjWeight.shape == [3 * e, e] && weights.inProjBias.shape == [3 * e] && weights.outProjWeight.shape == [e, e] && weights.outProjBias.shape == [e],
                     "multiheadAttention: weight shapes \(weights.inProjWeight.shape) \(weights.inProjBias.shape) \(weights.outProjWeight.shape) \(weights.outProjBias.shape) do not match E = \(e)")
        if let keyPaddingMask { precondition(keyPaddingMask.count == n && keyPaddingMask.allSatisfy { $0.count == s }, "multiheadAttention: key padding mask is not \(n) × \(s)") }
        if let residual { precondition(residual.shape == [l, n, e], "multiheadAttention: residual \(residual.shape) is not \([l, n, e])") }
        (self.l, self.n, self.e, self.s, d) = (l, n, e, s, e / heads)
        scale = Float(1 / Double(e / heads).squareRoot())
        func project(_ x: Tensor, _ part: Int) -> Tensor {
            x.linear(weight: weights.inProjWeight.sliced(0, (part * e)..<((part + 1) * e)),
                     bias: weights.inProjBias.sliced(0, (part * e)..<((part + 1) * e)))
        }
        (q, k, v) = (project(query, 0), project(key, 1), project(value, 2))
    }
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
/// outside the map contribute zero. Parallel over queries; per (query, head) the scalar part first
/// lists the in-map corner taps (value row, bilinear weight × attention weight), then the taps are
/// summed into the D outputs with SIMD registers (16 or 8 lanes, D a multiple of 8; a scalar loop
/// otherwise). The sum runs over the taps in the same order (level, point, corner) with the same
/// products as a plain per-channel loop, so the result is the same to the bit
/// (`msDeformAttnCoreReference`, the previous loop, is kept for the tests that show it).
public func msDeformAttnCore(value: Tensor, spatialShapes: [(h: Int, w: Int)], levelStartIndex: [Int],
                             samplingLocations: Tensor, attentionWeights: Tensor) -> Tensor {
    let p = MSDeformGeometry(value: value, spatialShapes: spatialShapes, levelStartIndex: levelStartIndex,
                             samplingLocations: samplingLocations, attentionWeights: attentionWeights)
    let v = value.contiguous(), loc = samplingLocations.contiguous(), aw = attentionWeights.contiguous()
    let (n, lq, m, d, levels, points) = (p.n, p.lq, p.m, p.d, p.levels, p.points)
    return Tensor(shape: [n, lq, m * d]) { out in
        guard let o = out.baseAddress, n * lq * m * d > 0 else { return }
        let vp = UncheckedSendable(UnsafePointer(v.storage.base + v.offset))
        let lp = UncheckedSendable(UnsafePointer(loc.storage.base + loc.offset))
        let ap = UncheckedSendable(UnsafePointer(aw.storage.base + aw.offset))
        let op = UncheckedSendable(o)
        let maxTaps = levels * points * 4
        withExtendedLifetime((v, loc, aw)) {
            Parallel.forEach(n * lq, minChunk: Swift.max(1, 256 / Swift.max(m * levels * points, 1))) { range in
                let rowStride = m * d
                // Per chunk: the taps of one (query, head), element offsets into the head's values.
                let tapOffsets = UnsafeMutablePointer<Int>.allocate(capacity: Swift.max(maxTaps, 1))
                let tapWeights = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(maxTaps, 1))
                defer { tapOffsets.deallocate(); tapWeights.deallocate() }
                for nq in range {
                    let b = nq / lq
                    let valueBase = vp.value + b * p.sLen * rowStride
                    for head in 0..<m {
                        var taps = 0
                        for lvl in 0..<levels {
                            let h = p.hs[lvl], w = p.ws[lvl], start = p.starts[lvl]
                            let base = ((nq * m + head) * levels + lvl) * points
                            var pt = 0
                            // Four points at a time in SIMD4 lanes (native SSE width): the same IEEE
                            // operations per lane as the scalar loop below, so the same taps and weights.
                            let wf = SIMD4<Float>(repeating: Float(w)), hf = SIMD4<Float>(repeating: Float(h))
                            while pt + 4 <= points {
                                let xy = UnsafeRawPointer(lp.value + (base + pt) * 2).loadUnaligned(as: SIMD8<Float>.self)
                                let a = UnsafeRawPointer(ap.value + base + pt).loadUnaligned(as: SIMD4<Float>.self)
                                let gx = xy.evenHalf * 2 - 1, gy = xy.oddHalf * 2 - 1
                                let x = ((gx + 1) / 2) * wf - 0.5
                                let y = ((gy + 1) / 2) * hf - 0.5
                                let inside = (x .> -1) .& (y .> -1) .& (x .< wf) .& (y .< hf)
                                if any(inside) {
                                    let x0f = MSDeformGeometry.floor(x.replacing(with: 0, where: .!inside))
                                    let y0f = MSDeformGeometry.floor(y.replacing(with: 0, where: .!inside))
                                    let fx = x - x0f, fy = y - y0f
                                    let w00 = (1 - fx) * (1 - fy) * a, w01 = fx * (1 - fy) * a, w10 = (1 - fx) * fy * a, w11 = fx * fy * a
                                    for lane in 0..<4 where inside[lane] {
                                        let x0 = Int(x0f[lane]), y0 = Int(y0f[lane])
                                        let x1 = x0 + 1, y1 = y0 + 1
                                        let xIn0 = x0 >= 0, xIn1 = x1 < w, yIn0 = y0 >= 0, yIn1 = y1 < h
                                        if yIn0 && xIn0 { tapOffsets[taps] = (start + y0 * w + x0) * rowStride; tapWeights[taps] = w00[lane]; taps += 1 }
                                        if yIn0 && xIn1 { tapOffsets[taps] = (start + y0 * w + x1) * rowStride; tapWeights[taps] = w01[lane]; taps += 1 }
                                        if yIn1 && xIn0 { tapOffsets[taps] = (start + y1 * w + x0) * rowStride; tapWeights[taps] = w10[lane]; taps += 1 }
                                        if yIn1 && xIn1 { tapOffsets[taps] = (start + y1 * w + x1) * rowStride; tapWeights[taps] = w11[lane]; taps += 1 }
                                    }
                                }
                                pt += 4
                            }
                            for pt in pt..<points {
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
                                let x1 = x0 + 1, y1 = y0 + 1
                                let xIn0 = x0 >= 0, xIn1 = x1 < w, yIn0 = y0 >= 0, yIn1 = y1 < h
                                if yIn0 && xIn0 { tapOffsets[taps] = (start + y0 * w + x0) * rowStride; tapWeights[taps] = w00 * a; taps += 1 }
                                if yIn0 && xIn1 { tapOffsets[taps] = (start + y0 * w + x1) * rowStride; tapWeights[taps] = w01 * a; taps += 1 }
                                if yIn1 && xIn0 { tapOffsets[taps] = (start + y1 * w + x0) * rowStride; tapWeights[taps] = w10 * a; taps += 1 }
                                if yIn1 && xIn1 { tapOffsets[taps] = (start + y1 * w + x1) * rowStride; tapWeights[taps] = w11 * a; taps += 1 }
                            }
                        }
                        MSDeformGeometry.accumulate(taps: taps, offsets: tapOffsets, weights: tapWeights,
                                                    values: valueBase + head * d, channels: d,
                                                    into: op.value + nq * rowStride + head * d)
                    }
                }
            }
        }
    }
}

/// Checked sizes of one `msDeformAttnCore` call, and its tap accumulation kernel.
struct MSDeformGeometry {
    let n, sLen, m, d, levels, lq, points: Int
    let hs, ws, starts: [Int]

    init(value: Tensor, spatialShapes: [(h: Int, w: Int)], levelStartIndex: [Int], samplingLocations: Tensor, attentionWeights: Tensor) {
        precondition(value.rank == 4, "msDeformAttnCore: value must be (N, S, M, D), got \(value.shape)")
        n = value.shape[0]; sLen = value.shape[1]; m = value.shape[2]; d = value.shape[3]
        levels = spatialShapes.count
        precondition(levelStartIndex.count == levels, "msDeformAttnCore: \(levels) spatial shapes but \(levelStartIndex.count) start indices")
        precondition(samplingLocations.rank == 6 && samplingLocations.shape[0] == n && samplingLocations.shape[2] == m
                     && samplingLocations.shape[3] == levels && samplingLocations.shape[5] == 2,
                     "msDeformAttnCore: sampling locations \(samplingLocations.shape) do not match value \(value.shape) and \(levels) levels")
        lq = samplingLocations.shape[1]; points = samplingLocations.shape[4]
        precondition(attentionWeights.shape == [n, lq, m, levels, points], "msDeformAttnCore: attention weights \(attentionWeights.shape) are not \([n, lq, m, levels, points])")
        for (i, shape) in spatialShapes.enumerated() {
            precondition(levelStartIndex[i] >= 0 && levelStartIndex[i] + shape.h * shape.w <= sLen, "msDeformAttnCore: level \(i) \(shape) at \(levelStartIndex[i]) exceeds S = \(sLen)")
        }
        hs = spatialShapes.map(\.h); ws = spatialShapes.map(\.w); starts = levelStartIndex
    }

    /// Lane-wise `rounded(.down)` without libm (x86-64's baseline SSE2 has no rounding instruction):
    /// adding and subtracting 1.5·2²³ rounds to the nearest integer exactly for |x| < 2²², then lanes
    /// that rounded up step down by one.
    @inline(__always)
    static func floor(_ x: SIMD4<Float>) -> SIMD4<Float> {
        let magic = SIMD4<Float>(repeating: 12_582_912)  // 1.5 · 2²³
        let nearest = (x + magic) - magic
        return nearest.replacing(with: nearest - 1, where: nearest .> x)
    }

    /// `out[c] = Σ_t weights[t] · values[offsets[t] + c]` for c < channels, the sum in tap order,
    /// each product rounded before its addition (no fused multiply-add), as the scalar loop does.
    @inline(__always)
    static func accumulate(taps: Int, offsets: UnsafePointer<Int>, weights: UnsafePointer<Float>,
                           values: UnsafePointer<Float>, channels d: Int, into out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(values), dst = UnsafeMutableRawPointer(out)
        var c = 0
        // 32 channels (the R50 head width) in two 16-lane registers, then 16- and 8-lane blocks.
        while c + 32 <= d {
            var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
            for t in 0..<taps {
                let s = raw + (offsets[t] + c) * 4, wv = SIMD16<Float>(repeating: weights[t])
                acc0 = acc0 + wv * s.loadUnaligned(as: SIMD16<Float>.self)
                acc1 = acc1 + wv * (s + 64).loadUnaligned(as: SIMD16<Float>.self)
            }
            (dst + c * 4).storeBytes(of: acc0, as: SIMD16<Float>.self)
            (dst + c * 4 + 64).storeBytes(of: acc1, as: SIMD16<Float>.self)
            c += 32
        }
        while c + 8 <= d {
            var acc = SIMD8<Float>()
            for t in 0..<taps {
                acc = acc + SIMD8<Float>(repeating: weights[t]) * (raw + (offsets[t] + c) * 4).loadUnaligned(as: SIMD8<Float>.self)
            }
            (dst + c * 4).storeBytes(of: acc, as: SIMD8<Float>.self)
            c += 8
        }
        while c < d {
            var acc: Float = 0
            for t in 0..<taps { acc = acc + weights[t] * values[offsets[t] + c] }
            out[c] = acc
            c += 1
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
/// - Returns: (N, Lq, M, L, P, 2). Queries in parallel.
public func msDeformSamplingLocations(offsets: Tensor, reference: Tensor, spatialShapes: [(h: Int, w: Int)],
                                      heads: Int, points: Int) -> Tensor {
    let n = offsets.shape[0], lq = offsets.shape[1], levels = spatialShapes.count
    let refN = reference.shape[0], refDim = reference.shape[2]
    precondition(reference.rank == 3 && reference.shape[1] == lq && (refN == 1 || refN == n) && (refDim == 2 || refDim == 4),
                 "msDeformSamplingLocations: reference \(reference.shape) for query count \(lq), batch \(n)")
    precondition(offsets.count == n * lq * heads * levels * points * 2,
                 "msDeformSamplingLocations: offsets \(offsets.shape) are not (\(n), \(lq), \(heads)·\(levels)·\(points)·2)")
    let ref = reference.contiguous()
    let perQuery = heads * levels * points
    // Each offset is divided (not multiplied by a reciprocal): the official order, bit for bit.
    let sizes = spatialShapes.map { (w: Float($0.w), h: Float($0.h)) }
    return offsets.withUnsafeBufferPointer { off in
        Tensor(shape: [n, lq, heads, levels, points, 2]) { out in
            guard n * lq * perQuery > 0, let o0 = out.baseAddress, let f0 = off.baseAddress else { return }
            let po = UncheckedSendable(o0), pf = UncheckedSendable(f0)
            let pr = UncheckedSendable(UnsafePointer(ref.storage.base + ref.offset))
            withExtendedLifetime(ref) {
                Parallel.forEach(n * lq, minChunk: Swift.max(1, 4096 / perQuery)) { range in
                    let (out, off, ref) = (po.value, pf.value, pr.value)
                    for bq in range {
                        let (b, q) = (bq / lq, bq % lq)
                        let r = ((refN == 1 ? 0 : b) * lq + q) * refDim
                        var i = bq * perQuery * 2
                        for _ in 0..<heads {
                            for l in 0..<levels {
                                let (w, h) = sizes[l]
                                for _ in 0..<points {
                                    if refDim == 2 {
                                        out[i] = ref[r] + off[i] / w
                                        out[i + 1] = ref[r + 1] + off[i + 1] / h
                                    } else {
                                        out[i] = ref[r] + off[i] / Float(points) * ref[r + 2] * 0.5
                                        out[i + 1] = ref[r + 1] + off[i + 1] / Float(points) * ref[r + 3] * 0.5
                                    }
                                    i += 2
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
