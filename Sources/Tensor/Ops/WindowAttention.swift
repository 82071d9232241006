// Shifted-window attention (Swin Transformer `WindowAttention` / Video-Swin `WindowAttention3D`, eval)
// and the row gathers that partition a token map into windows and merge it back.

#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// Rows `indices` of a (R, E) matrix, with a zero row wherever the index is negative: (indices.count, E).
    ///
    /// This is pad + roll + window-partition of a token map in one pass (the caller's index plan says
    /// which token, or padding, lands at each windowed position), and PatchMerging's strided gather.
    public func gatheringRowsOrZeros(_ indices: [Int32]) -> Tensor {
        precondition(rank == 2, "gatheringRowsOrZeros expects a (R, E) matrix, got \(shape)")
        let r = shape[0], e = shape[1]
        precondition(indices.allSatisfy { $0 < Int32(r) }, "gatheringRowsOrZeros: an index is beyond \(r) rows")
        let source = contiguous()
        return source.withUnsafeBufferPointer { table in
            Tensor(shape: [indices.count, e]) { out in
                guard e > 0, !indices.isEmpty, let o = out.baseAddress else { return }
                let (pt, po) = (UncheckedSendable(table.baseAddress), UncheckedSendable(o))
                indices.withUnsafeBufferPointer { ip in
                    let pi = UncheckedSendable(ip.baseAddress!)
                    Parallel.forEach(indices.count, minChunk: Swift.max(1, 16384 / e)) { range in
                        for i in range {
                            let row = Int(pi.value[i])
                            let dst = po.value + i * e
                            if row < 0 { dst.initialize(repeating: 0, count: e) } else { dst.initialize(from: pt.value! + row * e, count: e) }
                        }
                    }
                }
            }
        }
    }

    /// `self[r] += source[indices[r]]` for every row r of this (R, E) matrix (`source` is (S, E)).
    ///
    /// Window-reverse + roll back + crop + residual add in one pass: row r of the token map receives
    /// its own windowed attention output.
    public mutating func addRows(of source: Tensor, at indices: [Int32]) {
        precondition(rank == 2 && source.rank == 2 && source.shape[1] == shape[1] && indices.count == shape[0],
                     "addRows: \(shape) += rows of \(source.shape) at \(indices.count) indices")
        let e = shape[1], s = source.shape[0]
        precondition(indices.allSatisfy { $0 >= 0 && $0 < Int32(s) }, "addRows: an index is outside 0..<\(s)")
        let src = source.contiguous()
        src.withUnsafeBufferPointer { sp in
            withUnsafeMutableBufferPointer { dp in
                guard let d0 = dp.baseAddress, e > 0 else { return }
                let (ps, pd) = (UncheckedSendable(sp.baseAddress!), UncheckedSendable(d0))
                indices.withUnsafeBufferPointer { ip in
                    let pi = UncheckedSendable(ip.baseAddress!)
                    Parallel.forEach(indices.count, minChunk: Swift.max(1, 16384 / e)) { range in
                        for r in range {
                            let a = pd.value + r * e, b = ps.value + Int(pi.value[r]) * e
                            for c in 0..<e { a[c] += b[c] }
                        }
                    }
                }
            }
        }
    }
}

/// Multi-head self-attention inside windows, as Swin's `WindowAttention` computes it after its `qkv`
/// projection (eval: no dropout).
///
/// - Parameters:
///   - qkv: (B, N, 3C): the `qkv` Linear output of B windows of N tokens; channel layout
///     (3, heads, C/heads) per token, as the official `reshape(B, N, 3, heads, C // heads)`.
///   - heads: number of heads.
///   - bias: (heads, N, N) relative position bias, added to every window's scores.
///   - mask: (M, N, N), window b adds `mask[b % M]` (the shifted-window mask, 0 or −100), or nil.
///   - scale: the query scale (`head_dim ** -0.5`), applied as the product's alpha (torch scales q
///     before the product: equal up to float rounding).
/// - Returns: (B, N, C), heads concatenated (`(attn @ v).transpose(1, 2).reshape(B, N, C)`).
///
/// One small product pair per (window, head): `S = scale·QKᵀ + bias + mask`, softmax by row, `S·V`.
/// Every product reads Q, K, V in place from `qkv` (leading dimension 3C) and writes its head's
/// columns of the output; the (window, head) pairs run in parallel, each worker's products on its own
/// thread, with one N×N score buffer per worker.
public func windowAttention(qkv: Tensor, heads: Int, bias: Tensor, mask: Tensor?, scale: Float) -> Tensor {
    precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0, "windowAttention: qkv \(qkv.shape) is not (B, N, 3·heads·d)")
    let b = qkv.shape[0], n = qkv.shape[1], c = qkv.shape[2] / 3, d = c / heads
    precondition(bias.shape == [heads, n, n], "windowAttention: bias \(bias.shape) is not \([heads, n, n])")
    if let mask { precondition(mask.rank == 3 && mask.shape[1] == n && mask.shape[2] == n && mask.shape[0] > 0 && b % mask.shape[0] == 0,
                               "windowAttention: mask \(mask.shape) does not fit \(b) windows of \(n) tokens") }
    let q = qkv.contiguous(), bc = bias.contiguous(), mc = mask?.contiguous()
    let maskCount = mc?.shape[0] ?? 1
    return Tensor(shape: [b, n, c]) { out in
        guard b > 0, n > 0, d > 0, let o0 = out.baseAddress else { return }
        let po = UncheckedSendable(o0)
        let qp = UncheckedSendable(q.storage.base + q.offset)
        let bp = UncheckedSendable(bc.storage.base + bc.offset)
        let mp = UncheckedSendable(mc.map { $0.storage.base + $0.offset })
        withExtendedLifetime((q, bc, mc)) {
            Parallel.forEach(b * heads, minChunk: Swift.max(1, 4096 / (n * Swift.max(d, 1)))) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
                defer { scores.deallocate() }
                // Each worker's products run on its own thread (no nested split).
                TensorRuntime.withThreadCount(1) {
                    for pair in range {
                        let w = pair / heads, h = pair % heads
                        let base = qp.value + w * n * 3 * c + h * d
                        BLAS.sgemm(transB: .transposed, m: n, n: n, k: d, alpha: scale,
                                   a: base, lda: 3 * c, b: base + c, ldb: 3 * c, c: scores, ldc: n)
                        let hb = bp.value + h * n * n
                        let mb = mp.value.map { $0 + (w % maskCount) * n * n }
                        for i in 0..<n {
                            let row = scores + i * n, brow = hb + i * n
                            if let mb {
                                let mrow = mb + i * n
                                for j in 0..<n { row[j] = row[j] + brow[j] + mrow[j] }
                            } else {
                                for j in 0..<n { row[j] += brow[j] }
                            }
                            Tensor.softmaxRow(row, row, n)
                        }
                        BLAS.sgemm(m: n, n: d, k: n, a: scores, lda: n, b: base + 2 * c, ldb: 3 * c,
                                   c: po.value + w * n * c + h * d, ldc: c)
                    }
                }
            }
        }
    }
}
