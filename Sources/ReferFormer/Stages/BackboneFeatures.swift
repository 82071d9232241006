// ReferFormer models/backbone.py (Joiner output): the per-frame backbone features.
import Tensor

/// Text-independent per-frame features: the backbone outputs (their 2-D position encodings depend only
/// on the level sizes; the encoder computes them once per forward, see `EncoderOutput.positions`).
///
/// Compute once per frame (`ReferFormerDetector.backbone(_:)`) and reuse across phrases and windows.
public struct BackboneFeatures: Sendable {
    /// res2..res5 (layer1..layer4), each (T, 256·2^i, h_i, w_i).
    public var levels: [Tensor]

    public var res2: Tensor { levels[0] }
    public var res3: Tensor { levels[1] }
    public var res4: Tensor { levels[2] }
    public var res5: Tensor { levels[3] }
    public var frameCount: Int { levels[0].shape[0] }

    public init(levels: [Tensor]) { self.levels = levels }

    /// Frames `range` of these features (views; the backbone is per frame).
    public func frames(_ range: Range<Int>) -> BackboneFeatures {
        BackboneFeatures(levels: levels.map { $0.sliced(0, range) })
    }

    /// Features of several frame batches in order.
    public static func concatenating(_ parts: [BackboneFeatures]) -> BackboneFeatures {
        BackboneFeatures(levels: (0..<4).map { i in Tensor.concat(parts.map { $0.levels[i] }, axis: 0) })
    }
}
