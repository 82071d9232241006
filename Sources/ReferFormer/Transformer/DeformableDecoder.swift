// ReferFormer models/deformable_transformer.py `DeformableTransformerDecoderLayer` and
// `DeformableTransformerDecoder` with iterative box refinement (`bbox_embed` set, as with_box_refine).
import Tensor

/// `transformer.decoder.layers.{i}`: `self_attn` (nn.MultiheadAttention), `norm2`, `cross_attn`
/// (MSDeformAttn), `norm1`, `linear1`, `linear2`, `norm3`.
struct DeformableDecoderLayer: Sendable {
    var selfAttn: MultiheadAttention
    var norm2: LayerNorm
    var crossAttn: MSDeformAttn
    var norm1: LayerNorm
    var linear1: Linear
    var linear2: Linear
    var norm3: LayerNorm

    init(weights: StateDict, prefix: String, configuration c: ReferFormerConfiguration) {
        selfAttn = MultiheadAttention(weights: weights, prefix: "\(prefix).self_attn", embedDim: c.hiddenDim, heads: c.nheads)
        norm2 = LayerNorm(weights: weights, prefix: "\(prefix).norm2", dimension: c.hiddenDim)
        crossAttn = MSDeformAttn(weights: weights, prefix: "\(prefix).cross_attn", dModel: c.hiddenDim,
                                 levels: c.numFeatureLevels, heads: c.nheads, points: c.decNPoints)
        norm1 = LayerNorm(weights: weights, prefix: "\(prefix).norm1", dimension: c.hiddenDim)
        linear1 = Linear(weights: weights, prefix: "\(prefix).linear1", inFeatures: c.hiddenDim, outFeatures: c.dimFeedforward)
        linear2 = Linear(weights: weights, prefix: "\(prefix).linear2", inFeatures: c.dimFeedforward, outFeatures: c.hiddenDim)
        norm3 = LayerNorm(weights: weights, prefix: "\(prefix).norm3", dimension: c.hiddenDim)
    }

    /// - Parameters: tgt (N, Q, C), queryPos (1, Q, C), reference (N, Q, 2|4), memory (N, S, C).
    func callAsFunction(_ tgt: Tensor, queryPos: Tensor, reference: Tensor, memory: Tensor,
                        layout: LevelLayout) -> (output: Tensor, attention: MSDeformAttn.Output) {
        // Self-attention over the queries of each frame (torch MHA is sequence-first: (Q, N, C)).
        let q = (tgt + queryPos).permuted([1, 0, 2])
        let selfOut = selfAttn(query: q, key: q, value: tgt.permuted([1, 0, 2])).permuted([1, 0, 2])
        var x = norm2(tgt + selfOut)
        let cross = crossAttn(query: x + queryPos, reference: reference, input: memory, layout: layout, residual: x)
        x = cross.output
        norm1.apply(to: &x)
        x = feedForward(x, linear1: linear1, linear2: linear2, addingInput: true)
        norm3.apply(to: &x)
        return (x, cross)
    }
}
