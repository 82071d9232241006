// ReferFormer models/segmentation.py, VisionLanguageBlock.self_attn / .multihead_attn
// (torch nn.MultiheadAttention, eval mode, batch 1, no attention mask)
import Tensor

/// The multi-head attention of a `VisionLanguageBlock`, on token matrices (rows = tokens, batch 1).
///
/// Matches torch `nn.MultiheadAttention.forward` in eval mode: `in_proj` rows [0, E) project the
/// query, [E, 2E) the key, [2E, 3E) the value; head m owns channels [m·D, (m+1)·D), D = E / heads;
/// scores are `(q·kᵀ)/√D`, softmax over keys with `key_padding_mask` (true = ignore) set to −∞, then
/// `out_proj`. Computed with GEMMs: the projections over all rows, then per head and block of query
/// rows `S = Q_m·K_mᵀ` and `O_m = softmax(S)·V_m` reading Q, K, V in place (leading dimension E), so
/// memory stays bounded by one block of scores whatever the number of frames.
struct VisionLanguageAttention: Sendable {
    /// `<prefix>in_proj_weight` (3E, E)
    let inProjWeight: Tensor
    /// `<prefix>in_proj_bias` (3E)
    let inProjBias: Tensor
    /// `<prefix>out_proj.weight` (E, E)
    let outProjWeight: Tensor
    /// `<prefix>out_proj.bias` (E)
    let outProjBias: Tensor
    let heads: Int

    /// Query rows processed together per head (bounds the score block to `blockRows × keys`).
    static let blockRows = 1024

    init(stateDict: StateDict, prefix: String, embedDim e: Int, heads: Int) {
        precondition(e % heads == 0, "embed dim \(e) not divisible by \(heads) heads")
        inProjWeight = stateDict.take(prefix + "in_proj_weight", shape: [3 * e, e]).contiguous()
        inProjBias = stateDict.take(prefix + "in_proj_bias", shape: [3 * e]).contiguous()
        outProjWeight = stateDict.take(prefix + "out_proj.weight", shape: [e, e]).contiguous()
        outProjBias = stateDict.take(prefix + "out_proj.bias", shape: [e]).contiguous()
        self.heads = heads
    }

    var embedDim: Int { outProjWeight.shape[0] }

    /// Attention of `query` (Lq, E) over `key` (Lk, E) / `value` (Lk, E) → (Lq, E), including
    /// `out_proj`. `keyPaddingMask` (Lk, true = ignore) as torch's `key_padding_mask`. With
    /// `residual` (Lq, E) the result is `residual + attention` (the block's skip connection, fused
    /// into the output projection).
    func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: [Bool]? = nil, residual: Tensor? = nil,
                        blockRows: Int = Self.blockRows) -> Tensor {
        let e = embedDim
        precondition(query.rank == 2 && key.rank == 2 && value.rank == 2 && query.shape[1] == e && key.shape[1] == e
                     && value.shape == key.shape, "attention: query \(query.shape), key \(key.shape), value \(value.shape), E = \(e)")
        let lq = query.shape[0], lk = key.shape[0]
        if let keyPaddingMask { precondition(keyPaddingMask.count == lk, "key padding mask of \(keyPaddingMask.count) for \(lk) keys") }
        let q = project(query, part: 0)
        let k = project(key, part: 1)
        let v = project(value, part: 2)
        let d = e / heads
        let scale = Float(1 / Double(d).squareRoot())
        let masked = keyPaddingMask ?? []
        let block = min(max(blockRows, 1), max(lq, 1))
        var scores = [Float](repeating: 0, count: block * lk)
        let context = Tensor(shape: [lq, e]) { out in
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in
                    v.withUnsafeBufferPointer { vp in
                        scores.withUnsafeMutableBufferPointer { sp in
                            let s = sp.baseAddress!
                            for m in 0..<heads {
                                var start = 0
                                while start < lq {
                                    let rows = min(block, lq - start)
                                    // torch scales q by 1/√D before q·kᵀ; here the GEMM's alpha does it.
                                    BLAS.sgemm(transB: .transposed, m: rows, n: lk, k: d, alpha: scale,
                                               a: qp.baseAddress! + start * e + m * d, lda: e,
                                               b: kp.baseAddress! + m * d, ldb: e,
                                               c: s, ldc: lk)
                                    Self.softmaxRows(s, rows: rows, columns: lk, masked: masked)
                                    BLAS.sgemm(m: rows, n: d, k: lk,
                                               a: s, lda: lk,
                                               b: vp.baseAddress! + m * d, ldb: e,
                                               c: out.baseAddress! + start * e + m * d, ldc: e)
                                    start += rows
                                }
                            }
                        }
                    }
                }
            }
        }
        return SegmentationKernels.linear(context, weight: outProjWeight, bias: outProjBias, residual: residual)
    }

    /// Rows `x·W_partᵀ + b_part` with the part-th block of `in_proj` (views, no copy).
    private func project(_ x: Tensor, part: Int) -> Tensor {
        let e = embedDim
        return SegmentationKernels.linear(
            x, weight: inProjWeight.sliced(0, (part * e)..<((part + 1) * e)),
            bias: inProjBias.sliced(0, (part * e)..<((part + 1) * e)))
    }

    /// Row-wise softmax in place; masked columns get probability 0 (−∞ logits). A fully masked row
    /// gives NaN, as torch does.
    private static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, columns: Int, masked: [Bool]) {
        Parallel.forEach(rows, minChunk: 64) { range in
            for r in range {
                let row = s + r * columns
                if !masked.isEmpty {
                    for j in 0..<columns where masked[j] { row[j] = -.infinity }
                }
                Tensor.softmaxRow(row, row, columns)
            }
        }
    }
}

