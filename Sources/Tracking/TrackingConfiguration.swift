/// How a window's pixel decoder (the only stage that mixes frames) runs.
public enum PixelDecoderMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The official computation: the pixel decoder and mask head on all T frames of every window.
    case exact
    /// Opt-in approximation: each frame runs the pixel decoder once, when it is new, attending to the
    /// cached spatially reduced keys/values of the up to T − 1 frames before it (causal); a window costs
    /// one frame of pixel decoder per new frame instead of T. At stride 1 the newest frame's mask equals
    /// exact mode's; older frames keep the mask they got when new (docs/incremental-pixel-decoder.md).
    case incremental
}

/// Settings of one stream's engine (`StreamTracker`).
public struct TrackingConfiguration: Sendable {
    public var window: WindowConfiguration
    /// A frame whose chosen query scores under this counts as "not present".
    public var presenceThreshold: Float
    /// Consecutive low frames before a track is `absent` (reported `present: false`; the next window
    /// then takes the best-scoring query again, which re-acquires the object when it returns).
    public var absentAfterFrames: Int
    /// The network input's shorter side in pixels (360 official).
    public var shorterSide: Int
    /// Hysteresis: a track keeps the query that continues it (mask overlap on shared frames, or box
    /// overlap / centre distance between consecutive windows) unless another query's window score is
    /// higher by more than this.
    public var switchMargin: Float
    /// The least mask IoU (or box IoU) for a query to count as continuing the track.
    public var minimumOverlap: Float
    /// Encoded phrase texts kept for re-use (least recently used dropped first).
    public var textCacheCapacity: Int
    /// `.exact` (default, official) or `.incremental` (opt-in, cheaper, approximate).
    public var pixelDecoderMode: PixelDecoderMode

    public init(window: WindowConfiguration = .default, presenceThreshold: Float = 0.3, absentAfterFrames: Int = 3,
                shorterSide: Int = 360, switchMargin: Float = 0.15, minimumOverlap: Float = 0.3, textCacheCapacity: Int = 16,
                pixelDecoderMode: PixelDecoderMode = .exact) {
        self.window = window
        self.presenceThreshold = presenceThreshold
        self.absentAfterFrames = absentAfterFrames
        self.shorterSide = shorterSide
        self.switchMargin = switchMargin
        self.minimumOverlap = minimumOverlap
        self.textCacheCapacity = textCacheCapacity
        self.pixelDecoderMode = pixelDecoderMode
    }

    /// Throws `.configuration` for a bad window, a non-positive `absentAfterFrames` or
    /// `textCacheCapacity`, or thresholds outside [0, 1].
    public func validate() throws(TrackingError) {
        try window.validate()
        guard absentAfterFrames >= 1 else {
            throw TrackingError(.configuration, "absentAfterFrames must be at least 1, got \(absentAfterFrames)")
        }
        guard (0...1).contains(presenceThreshold), (0...1).contains(minimumOverlap), switchMargin >= 0 else {
            throw TrackingError(.configuration, "presenceThreshold and minimumOverlap must be in [0, 1] and switchMargin ≥ 0, got \(presenceThreshold), \(minimumOverlap), \(switchMargin)")
        }
        guard textCacheCapacity >= 1 else {
            throw TrackingError(.configuration, "textCacheCapacity must be at least 1, got \(textCacheCapacity)")
        }
    }
}
