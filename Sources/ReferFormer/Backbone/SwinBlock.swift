// ReferFormer models/swin_transformer.py `SwinTransformerBlock` + `WindowAttention` and
// models/video_swin_transformer.py `SwinTransformerBlock3D` + `WindowAttention3D` (eval).
import Tensor

/// `SwinTransformerBlock` / `SwinTransformerBlock3D` (eval): `x + proj(W-MSA(norm1(x)))`, then
/// `x + fc2(gelu(fc1(norm2(x))))`.
///
/// Keys under `<prefix>`: `norm1`, `attn.relative_position_bias_table` (R, heads),
/// `attn.relative_position_index` (N, N) (a buffer: checked against the formula, may be absent),
/// `attn.qkv`, `attn.proj`, `norm2`, `mlp.fc1`, `mlp.fc2`.
struct SwinBlock: Sendable {
    var norm1: LayerNorm
    var qkv: Linear
    var proj: Linear
    var norm2: LayerNorm
    var fc1: Linear
    var fc2: Linear
    /// (R, heads)
    var table: Tensor
    /// The configured window's index, N0 × N0.
    var index: [Int32]
    var configuredTokens: Int
    var heads: Int

    init(weights: StateDict, prefix: String, dim: Int, heads: Int, window: [Int], mlpHidden: Int) throws(ReferFormerError) {
        norm1 = LayerNorm(weights: weights, prefix: "\(prefix).norm1", dimension: dim)
        let rows = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        table = weights.take("\(prefix).attn.relative_position_bias_table", shape: [rows, heads])
        let n = window.reduce(1, *)
        let index = relativePositionIndex(window: window)
        self.index = index
        let key = "\(prefix).attn.relative_position_index"
        if weights.shape(of: key) == [n, n] {
            let stored = weights.take(key, shape: [n, n]).scalars
            if let bad = stored.indices.first(where: { Int32(exactly: stored[$0]) != index[$0] }) {
                throw ReferFormerError(.weights, "\(key)[\(bad / n), \(bad % n)] is \(stored[bad]), but the official formula for a window \(window) gives \(index[bad]): "
                    + "the checkpoint's window size does not match its bias tables, or the buffer is corrupt")
            }
        } else if weights.contains(key) {
            _ = weights.take(key, shape: [n, n])  // recorded as a shape mismatch
        }
        configuredTokens = n
        qkv = Linear(weights: weights, prefix: "\(prefix).attn.qkv", inFeatures: dim, outFeatures: 3 * dim)
        proj = Linear(weights: weights, prefix: "\(prefix).attn.proj", inFeatures: dim, outFeatures: dim)
        norm2 = LayerNorm(weights: weights, prefix: "\(prefix).norm2", dimension: dim)
        fc1 = Linear(weights: weights, prefix: "\(prefix).mlp.fc1", inFeatures: dim, outFeatures: mlpHidden)
        fc2 = Linear(weights: weights, prefix: "\(prefix).mlp.fc2", inFeatures: mlpHidden, outFeatures: dim)
        self.heads = heads
    }

    /// The (heads, N, N) bias of a window of N tokens: `table[index[:N, :N]]`, permuted. N smaller than
    /// the configured window happens only in Video-Swin, which takes the first N tokens' index as is.
    func relativeBias(tokens n: Int) -> Tensor {
        let n0 = configuredTokens, h = heads
        let t = table.contiguous()
        return t.withUnsafeBufferPointer { tp in
            Tensor(shape: [h, n, n]) { out in
                for i in 0..<n {
                    for j in 0..<n {
                        let row = Int(index[i * n0 + j]) * h
                        for m in 0..<h { out[(m * n + i) * n + j] = tp[row + m] }
                    }
                }
            }
        }
    }

    /// - Parameters: x (rows, C) in the plan's (d, h, w) order; `bias` from `relativeBias(tokens:)`.
    func callAsFunction(_ x: Tensor, plan: WindowPlan, bias: Tensor) -> Tensor {
        let c = x.shape[1]
        let windows = norm1(x).gatheringRowsOrZeros(plan.gather)
        let projected = qkv(windows).reshaped([plan.windowCount, plan.tokens, 3 * c])
        let attended = windowAttention(qkv: projected, heads: heads, bias: bias, mask: plan.mask,
                                       scale: Float(1 / Double(c / heads).squareRoot()))
        var y = x
        y.addRows(of: proj(attended.reshaped([-1, c])), at: plan.inverse)
        let hidden = fc1(norm2(y)).gelu()
        return fc2(hidden, residual: y)
    }
}
