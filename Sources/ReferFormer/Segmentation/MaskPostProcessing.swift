// ReferFormer inference_ytvos.py (query selection, upsampling, threshold) and inference_davis.py
// (N-frame clips, probability masks, annotator merge)
import Tensor

/// Post-processing of the network outputs (`inference_ytvos.py` / `inference_davis.py`).
public enum MaskPostProcessing {
    /// The DAVIS script's clip length (`inference_davis.py`: non-overlapping windows of 36 frames).
    public static let davisClipLength = 36

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    /// Scores and the best query: `score[q] = max_k mean_t sigmoid(predLogits[t, q, k])`, q* = argmax
    /// (first on ties).
    /// - Parameter predLogits: (T, Q, K) or (1, T, Q, K) (`pred_logits`).
    public static func selectQuery(predLogits: Tensor) -> (scores: [Float], queryIndex: Int) {
        let logits = predLogits.rank == 4 ? predLogits.squeezed(0) : predLogits
        precondition(logits.rank == 3, "pred_logits \(predLogits.shape), expected (1, T, Q, K)")
        let (t, q, k) = (logits.shape[0], logits.shape[1], logits.shape[2])
        let v = logits.scalars
        var scores = [Float](repeating: -.infinity, count: q)
        for qi in 0..<q {
            for ki in 0..<k {
                var sum: Float = 0
                for ti in 0..<t { sum += sigmoid(v[(ti * q + qi) * k + ki]) }
                scores[qi] = max(scores[qi], sum / Float(t))
            }
        }
        var best = 0
        for qi in 1..<max(q, 1) where scores[qi] > scores[best] { best = qi }
        return (scores, best)
    }

    /// Bilinear resize (align_corners=False, no antialias) of mask logits (T, h, w) to (T, oh, ow)
    /// (`F.interpolate(..., mode='bilinear')`).
    public static func resizeMasks(_ masks: Tensor, height: Int, width: Int) -> Tensor {
        precondition(masks.rank == 3, "masks \(masks.shape), expected (T, h, w)")
        return masks.unsqueezed(1).interpolate(size: (height, width), mode: .bilinear(alignCorners: false)).reshaped([masks.shape[0], height, width])
    }

    /// The official post-processing of one clip: choose q* by score, take its masks in every frame and
    /// resize their logits to the original frame size.
    /// - Parameters:
    ///   - predLogits: (1, T, Q, K) or (T, Q, K); `predMasks`: (1, T, Q, h, w) or (T, Q, h, w).
    ///   - originalSize: (oh, ow) of the video frames before resizing.
    public static func process(predLogits: Tensor, predMasks: Tensor, originalSize: (height: Int, width: Int)) -> ClipMasks {
        let masks = predMasks.rank == 5 ? predMasks.squeezed(0) : predMasks
        precondition(masks.rank == 4, "pred_masks \(predMasks.shape), expected (1, T, Q, h, w)")
        let (scores, best) = selectQuery(predLogits: predLogits)
        let chosen = masks.selecting(1, best).contiguous()
        return ClipMasks(scores: scores, queryIndex: best,
                         maskLogits: resizeMasks(chosen, height: originalSize.height, width: originalSize.width))
    }

    /// The clips a video of `frameCount` frames is run in: the whole video (`clipLength` nil, as
    /// `inference_ytvos.py`) or consecutive non-overlapping windows of `clipLength` frames, the last
    /// one shorter (as `inference_davis.py` with 36). Each clip is an independent forward with its own q*.
    public static func clipRanges(frameCount: Int, clipLength: Int?) -> [Range<Int>] {
        guard frameCount > 0 else { return [] }
        guard let clipLength, clipLength > 0, clipLength < frameCount else { return [0..<frameCount] }
        return stride(from: 0, to: frameCount, by: clipLength).map { $0..<min($0 + clipLength, frameCount) }
    }

    /// The DAVIS label map of one annotator: given each object's probability volume (T, oh, ow) in
    /// object order, probabilities below 0.5 are set to 0, a constant background plane of 0.1 is put
    /// first, and each pixel takes the index of the largest value (0 = background, k = k-th object;
    /// first on ties, as `argmax`). Returns (T·oh·ow) labels, row-major.
    public static func davisLabels(objectProbabilities: [Tensor]) -> [UInt8] {
        guard let first = objectProbabilities.first else { return [] }
        precondition(objectProbabilities.count < 255, "\(objectProbabilities.count) objects do not fit a byte label")
        let count = first.count
        var best = [Float](repeating: 0.1, count: count)
        var labels = [UInt8](repeating: 0, count: count)
        for (index, volume) in objectProbabilities.enumerated() {
            precondition(volume.shape == first.shape, "object \(index): \(volume.shape) vs \(first.shape)")
            let v = volume.scalars
            for i in 0..<count {
                let p = v[i] < 0.5 ? 0 : v[i]
                if p > best[i] { best[i] = p; labels[i] = UInt8(index + 1) }
            }
        }
        return labels
    }
}

#if canImport(Glibc)
import Glibc
#endif
