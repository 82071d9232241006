// torch.nn.MultiheadAttention, holding exactly the official state-dict entries of its module.
import Tensor

/// torch.nn.MultiheadAttention (eval, sequence-first): `<prefix>.in_proj_weight` (3E, E),
/// `<prefix>.in_proj_bias` (3E), `<prefix>.out_proj.weight` (E, E), `<prefix>.out_proj.bias` (E).
struct MultiheadAttention: Sendable {
    var weights: MultiheadAttentionWeights
    var heads: Int

    init(weights: StateDict, prefix: String, embedDim: Int, heads: Int) {
        self.weights = MultiheadAttentionWeights(
            inProjWeight: weights.take("\(prefix).in_proj_weight", shape: [3 * embedDim, embedDim]),
            inProjBias: weights.take("\(prefix).in_proj_bias", shape: [3 * embedDim]),
            outProjWeight: weights.take("\(prefix).out_proj.weight", shape: [embedDim, embedDim]),
            outProjBias: weights.take("\(prefix).out_proj.bias", shape: [embedDim]))
        self.heads = heads
    }

    /// - Parameters: query (L, N, E), key and value (S, N, E); `keyPaddingMask` N × S, true = ignored;
    ///   `residual` (L, N, E) is added to the output (fused into `out_proj`).
    /// - Returns: (L, N, E).
    func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: [[Bool]]? = nil, residual: Tensor? = nil) -> Tensor {
        multiheadAttention(query: query, key: key, value: value, weights: weights, heads: heads,
                           keyPaddingMask: keyPaddingMask, residual: residual).output
    }
}
