// ReferFormer inference_ytvos.py / inference_davis.py: the masks of one expression on one clip.
import Tensor

/// The masks of one referring expression on one clip, as the official inference scripts produce them.
public struct ClipMasks: Sendable {
    /// Per-query score: mean over the clip's frames of sigmoid(logit), max over classes (Q).
    public var scores: [Float]
    /// The chosen query q* = argmax of `scores` (first index on ties), used for every frame.
    public var queryIndex: Int
    /// `pred_masks[:, q*]` bilinearly resized (align_corners=False) to the original size: (T, oh, ow).
    public var maskLogits: Tensor

    /// sigmoid(mask logits) (T, oh, ow): the DAVIS script's probability output.
    public var probabilities: Tensor { maskLogits.sigmoid() }

    /// `sigmoid(logit) > threshold` as 0/1 bytes, row-major (T, oh, ow): the YTVOS script's masks
    /// (saved ×255 as PNG). The comparison is made on the float32 sigmoid, as upstream.
    public func binaryMasks(threshold: Float = 0.5) -> [UInt8] {
        maskLogits.scalars.map { MaskPostProcessing.sigmoid($0) > threshold ? 1 : 0 }
    }
}
