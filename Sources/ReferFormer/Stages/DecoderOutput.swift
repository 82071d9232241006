// ReferFormer models/deformable_transformer.py DeformableTransformerDecoder + the class/box heads: per-layer results.
import Tensor

/// The decoder's result for a batch of frames: per decoder layer, the query states, references,
/// sampling of the cross-attention and the class/box predictions.
public struct DecoderOutput: Sendable {
    /// `hs[i]`, (T, Q, C).
    public var hs: [Tensor]
    /// r⁰ = sigmoid(reference_points(query_embed)), (T, Q, 2).
    public var initReference: Tensor
    /// r¹…r^Ld, (T, Q, 4) (cx, cy, w, h).
    public var interReferences: [Tensor]
    /// Cross-attention sampling locations of every layer, (T, Q, M, L, P, 2).
    public var samplingLocations: [Tensor]
    /// Cross-attention weights of every layer, (T, Q, M, L, P).
    public var attentionWeights: [Tensor]
    /// `class_embed[i](hs[i])`, (T, Q, classes).
    public var logits: [Tensor]
    /// Boxes of every layer, (T, Q, 4) — bit-identical to `interReferences` in the official code.
    public var boxes: [Tensor]

    /// Frames `range` (views) of every per-layer tensor.
    public func frames(_ range: Range<Int>) -> DecoderOutput {
        func cut(_ list: [Tensor]) -> [Tensor] { list.map { $0.sliced(0, range) } }
        return DecoderOutput(hs: cut(hs), initReference: initReference.sliced(0, range), interReferences: cut(interReferences),
                             samplingLocations: cut(samplingLocations), attentionWeights: cut(attentionWeights),
                             logits: cut(logits), boxes: cut(boxes))
    }

    public var predLogits: Tensor { logits[logits.count - 1] }
    public var predBoxes: Tensor { boxes[boxes.count - 1] }
    /// The eval-mode `reference_points` output: the input reference of the last layer, (T, Q, 2).
    public var referencePoints: Tensor {
        let r = interReferences.count >= 2 ? interReferences[interReferences.count - 2] : initReference
        return r.sliced(2, 0..<2).contiguous()
    }
}
