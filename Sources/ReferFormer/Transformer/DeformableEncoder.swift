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
        let attn = selfAttn(query: src + pos, reference: reference, input: src, layout: layout).output
        let x = norm1(src + attn)
        return norm2(x + feedForward(x))
    }

    /// `linear2(relu(linear1(x)))` over blocks of tokens, so the (tokens × dim_feedforward) hidden
    /// activation stays cache-sized instead of a fresh 40 MB buffer per layer at 360×640 (the rows
    /// are independent, so blocking does not change any value).
    func feedForward(_ x: Tensor) -> Tensor {
        let c = x.shape[x.rank - 1]
        let rows = x.count / c
        let flat = x.reshaped([rows, c])
        let block = 512
        if rows <= block {
            var hidden = linear1(flat)
            hidden.applyReLU()
            return linear2(hidden).reshaped(x.shape)
        }
        var out = Tensor.zeros([rows, c])
        out.withUnsafeMutableBufferPointer { dst in
            var r0 = 0
            while r0 < rows {
                let r1 = Swift.min(rows, r0 + block)
                var hidden = linear1(flat.sliced(0, r0..<r1))
                hidden.applyReLU()
                linear2(hidden).withUnsafeBufferPointer { src in
                    (dst.baseAddress! + r0 * c).update(from: src.baseAddress!, count: src.count)
                }
                r0 = r1
            }
        }
        return out.reshaped(x.shape)
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
