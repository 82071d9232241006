// ReferFormer models/deformable_transformer.py `DeformableTransformerEncoderLayer` and
// `DeformableTransformerEncoder` (post-norm; reference points from `get_reference_points`).
import Tensor

/// `transformer.encoder.layers.{i}`: `self_attn` (MSDeformAttn), `norm1`, `linear1`, `linear2`, `norm2`.
struct DeformableEncoderLayer: Sendable {
    var selfAttn: MSDeformAttn
    var norm1: LayerNorm
    var linear1: Linear
    var linear2: Linear
    var norm2: LayerNorm

    init(weights: StateDict, prefix: String, configuration c: ReferFormerConfiguration) {
        selfAttn = MSDeformAttn(weights: weights, prefix: "\(prefix).self_attn", dModel: c.hiddenDim,
                                levels: c.numFeatureLevels, heads: c.nheads, points: c.encNPoints)
        norm1 = LayerNorm(weights: weights, prefix: "\(prefix).norm1", dimension: c.hiddenDim)
        linear1 = Linear(weights: weights, prefix: "\(prefix).linear1", inFeatures: c.hiddenDim, outFeatures: c.dimFeedforward)
        linear2 = Linear(weights: weights, prefix: "\(prefix).linear2", inFeatures: c.dimFeedforward, outFeatures: c.hiddenDim)
        norm2 = LayerNorm(weights: weights, prefix: "\(prefix).norm2", dimension: c.hiddenDim)
    }

    /// - Parameters: src and pos (N, S, C) (pos may have N = 1), reference (1, S, 2).
    func callAsFunction(_ src: Tensor, pos: Tensor, reference: Tensor, layout: LevelLayout) -> Tensor {
        // Residuals fused into the output projection and the FFN; both norms in place on fresh buffers.
        var x = selfAttn(query: src + pos, reference: reference, input: src, layout: layout, residual: src).output
        norm1.apply(to: &x)
        var y = feedForward(x, linear1: linear1, linear2: linear2, addingInput: true)
        norm2.apply(to: &y)
        return y
    }
}

/// Encoder reference points: token (i, j) of level l → ((j + 0.5) / w_l, (i + 0.5) / h_l), used for
/// every level (valid ratios 1). Shape (1, S, 2).
func encoderReferencePoints(layout: LevelLayout) -> Tensor {
    Tensor(shape: [1, layout.tokenCount, 2]) { out in
        var t = 0
        for (h, w) in layout.shapes {
            for i in 0..<h {
                for j in 0..<w {
                    out[2 * t] = (Float(j) + 0.5) / Float(w)
                    out[2 * t + 1] = (Float(i) + 0.5) / Float(h)
                    t += 1
                }
            }
        }
    }
}
