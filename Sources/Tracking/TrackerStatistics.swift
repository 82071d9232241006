/// Counters of one `StreamTracker` (cumulative unless said otherwise).
public struct TrackerStatistics: Sendable, Equatable {
    public var framesPushed = 0
    /// Backbone runs counted per frame (once per frame with a per-frame backbone, whatever the phrases).
    public var backboneRuns = 0
    /// Per-frame, per-phrase stage runs (projections + fusion + encoder + decoder + heads), per frame.
    public var detectionRuns = 0
    /// Windows run (pixel decoder + mask head, for every phrase).
    public var windowsRun = 0
    /// Frames run through the pixel decoder and mask head, per phrase (T per window in exact mode, one
    /// per new frame in incremental mode).
    public var pixelDecoderFrames = 0
    public var masksEmitted = 0
    /// Now: frames held in the window cache.
    public var cachedFrames = 0
    /// Now: (frame, phrase) entries held.
    public var cachedDetections = 0
    /// Now: (frame, phrase) pixel-decoder states held by the incremental mode (≤ T per phrase).
    public var cachedPixelStates = 0
    /// Now: encoded phrase texts held.
    public var cachedTexts = 0
    /// Now: mask-grid frames tracks keep for linking with the next window.
    public var cachedTrackMasks = 0
    /// Now: phrases on the stream.
    public var phraseCount = 0
    /// Seconds spent in each stage.
    public var backboneSeconds: Double = 0
    public var detectionSeconds: Double = 0
    public var textSeconds: Double = 0
    /// Pixel decoder + mask head.
    public var windowSeconds: Double = 0
    /// Query choice, linking, resizing and thresholding the masks.
    public var linkingSeconds: Double = 0

    public init() {}
}
