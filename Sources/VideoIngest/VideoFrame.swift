import Foundation

/// One RGB frame delivered by a `VideoSource`.
public struct VideoFrame: Sendable {
    /// Tightly packed RGB, `height * width * 3` bytes, row-major, top row first.
    public var pixels: [UInt8]
    /// Size of `pixels` (the model input size, or the decoded size for `OutputFormat.original`).
    public var width: Int
    public var height: Int
    /// The decoded size before scaling (what the source really sends).
    public var originalWidth: Int
    public var originalHeight: Int
    /// Presentation timestamp from GStreamer (stream time of the current connection: it restarts
    /// after a reconnection). nil when the buffer carried none.
    public var presentationTime: Duration?
    /// Position in the source's output, counting every frame GStreamer produced, across reconnections:
    /// frames dropped by the live queue leave gaps.
    public var index: Int
    /// Which connection (pipeline instance) produced the frame: 1 for the first, +1 per reconnection.
    public var connection: Int
    /// Wall-clock time at which the frame reached ReferStream (the appsink callback for live sources,
    /// the pull for files): the closest observable capture time.
    public var captureTime: Date
    /// Monotonic time of arrival, for `age`.
    public var receivedAt: ContinuousClock.Instant

    /// How long ago the frame arrived (time spent in the queue and since).
    public var age: Duration { ContinuousClock.now - receivedAt }

    public var size: FrameSize { FrameSize(width: width, height: height) }
    public var originalSize: FrameSize { FrameSize(width: originalWidth, height: originalHeight) }
}
