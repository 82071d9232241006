import ReferFormer

/// How much memory a ReferFormer run needs, from the configuration and the network input size.
///
/// Counted in float32 values per frame and per phrase: the cached backbone levels (res2…res5), the
/// encoder's working set on a frame (memory tokens × (feed-forward + 8 × hidden)), and the pixel
/// decoder's stride-4 stage (stride-4 tokens × (feed-forward + 6 × hidden)), which is materialised for
/// all frames of a window at once. On the R50 model at 360×640 this gives ≈ 310 MB per frame, against
/// ≈ 272 MB measured (peak RSS of a whole-video run, 6 → 12 frames); on the tiny test model at 44×60,
/// about 1 MB.
public struct MemoryEstimate: Sendable, Equatable {
    /// Bytes per frame of a window (or of the whole video).
    public var bytesPerFrame: Int
    /// Bytes that do not depend on the number of frames (weights excluded).
    public var fixedBytes: Int

    public init(configuration c: ReferFormerConfiguration, inputSize: (height: Int, width: Int), phrases: Int = 1) {
        func side(_ n: Int, stride: Int) -> Int {
            var v = n
            var s = 1
            while s < stride { v = (v - 1) / 2 + 1; s *= 2 }
            return v
        }
        let (h, w) = inputSize
        let backbone = (0..<4).reduce(0) { sum, i in
            sum + c.backbone.outChannels(stage: i) * side(h, stride: 4 << i) * side(w, stride: 4 << i)
        }
        let tokens = (0..<4).reduce(0) { sum, l in sum + side(h, stride: 8 << l) * side(w, stride: 8 << l) }
        let encoder = tokens * (c.dimFeedforward + 8 * c.hiddenDim)
        let stride4 = side(h, stride: 4) * side(w, stride: 4)
        let pixelDecoder = stride4 * (c.dimFeedforward + 6 * c.hiddenDim)
        bytesPerFrame = 4 * (backbone + max(1, phrases) * (tokens * c.hiddenDim) + encoder + pixelDecoder)
        fixedBytes = 64 << 20
    }

    /// Bytes for `frames` frames in one window.
    public func bytes(frames: Int) -> Int { fixedBytes + frames * bytesPerFrame }
}
