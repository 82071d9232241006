// ReferFormer models/backbone.py (Joiner output): the per-frame backbone features.
import Tensor

/// Text-independent per-frame features: the backbone outputs (their 2-D position encodings depend only
/// on the level sizes; the encoder computes them once per forward, see `EncoderOutput.positions`).
///
/// Compute once per frame (`ReferFormerDetector.backbone(_:)`) and reuse across phrases and windows —
/// except with a Video-Swin backbone (`ReferFormerConfiguration.backboneMixesFrames`), whose features of
/// a frame belong to the clip they were computed with: reuse them only for exactly that clip.
public struct BackboneFeatures: Sendable {
    /// res2..res5 (ResNet layer1..layer4: (T, 256·2^i, h_i, w_i); Swin stages: (T, C·2^i, h_i, w_i)).
    public var levels: [Tensor]

    public var res2: Tensor { levels[0] }
    public var res3: Tensor { levels[1] }
    public var res4: Tensor { levels[2] }
    public var res5: Tensor { levels[3] }
    public var frameCount: Int { levels[0].shape[0] }

    public init(levels: [Tensor]) { self.levels = levels }

    /// Frames `range` of these features (views). With a per-clip backbone (Video-Swin) these are the
    /// frames' features within the clip they were computed with, not what those frames alone would give.
    public func frames(_ range: Range<Int>) -> BackboneFeatures {
        BackboneFeatures(levels: levels.map { $0.sliced(0, range) })
    }

    /// Features of several frame batches in order.
    public static func concatenating(_ parts: [BackboneFeatures]) -> BackboneFeatures {
        BackboneFeatures(levels: (0..<4).map { i in Tensor.concat(parts.map { $0.levels[i] }, axis: 0) })
    }
}
