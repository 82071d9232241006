/// How a stream is cut into windows: the last `length` frames (T) are run together every `stride` (s)
/// new frames, and each run emits the s newest frames (the first run emits all of its frames).
///
/// T = s gives non-overlapping clips (the official Ref-DAVIS inference with 36); `wholeVideo` makes the
/// whole stream one clip, emitted at `flush()` (the official Ref-YouTube-VOS inference; memory grows
/// with the video).
public struct WindowConfiguration: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Frames per window (T ≥ 1).
    public var length: Int
    /// New frames between two windows, = frames each window emits after the first (1 ≤ s ≤ T).
    public var stride: Int

    /// - Precondition: `length ≥ 1` and `1 ≤ stride ≤ length` (check user input with `validate()`).
    public init(length: Int, stride: Int) {
        self.length = length
        self.stride = stride
    }

    /// Non-overlapping 3-frame windows: see README ("Online tracking") for the measurements behind
    /// this choice (per emitted frame, the pixel decoder costs as much per window frame as the
    /// per-frame stages, so overlap multiplies the cost; 3 frames give the pixel decoder's temporal
    /// attention context at 3 frames of latency and about 60 MB of cache per phrase).
    public static let `default` = WindowConfiguration(length: 3, stride: 3)

    /// The whole stream as one clip (Ref-YouTube-VOS): nothing is emitted before `flush()`.
    public static let wholeVideo = WindowConfiguration(length: .max, stride: .max)

    public var isWholeVideo: Bool { length == .max }

    /// Throws `.configuration` unless `length ≥ 1` and `1 ≤ stride ≤ length`.
    public func validate() throws(TrackingError) {
        guard length >= 1 else {
            throw TrackingError(.configuration, "the window length must be at least 1 frame, got \(length)")
        }
        guard stride >= 1, stride <= length else {
            throw TrackingError(.configuration, "the window stride must be between 1 and the window length (\(length)), got \(stride)")
        }
    }

    public var description: String { isWholeVideo ? "whole video" : "T=\(length) s=\(stride)" }
}
