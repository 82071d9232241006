import ReferFormer
import Tokenizer

/// One stream's engine: frames in, masks of every phrase out, over a sliding window
/// (`WindowConfiguration`), with one track per phrase linked across windows.
///
/// Work per frame: the backbone once (shared by all phrases); per (frame, phrase) the projections,
/// fusion, encoder, decoder and heads once (cached while the frame is in the window); per window the
/// pixel decoder and mask head on all its frames (with `PixelDecoderMode.incremental`: once per new
/// frame, attending to cached reduced keys/values of the frames before it). Caches hold at most the window's frames and the
/// current phrases (plus `textCacheCapacity` encoded texts): nothing grows with the stream's length or
/// the number of phrase changes.
///
/// Not thread-safe: drive it from one thread. The model is shared by value (immutable, `Sendable`).
public final class StreamTracker {
    private let core: any TrackerEngine

    /// The ReferFormer engine.
    public init(model: ReferFormerModel, tokenizer: RobertaTokenizer, configuration: TrackingConfiguration) {
        core = TrackerCore(model: ReferFormerTrackingModel(model: model, tokenizer: tokenizer, shorterSide: configuration.shorterSide),
                           configuration: configuration)
    }

    /// Any model behind the `TrackingModel` seam (tests use a scripted one).
    public init<Model: TrackingModel>(engine: Model, configuration: TrackingConfiguration) {
        core = TrackerCore(model: engine, configuration: configuration)
    }

    public var configuration: TrackingConfiguration { core.configuration }

    /// Adds a phrase; it takes effect at the next window. Tokenises and encodes it (cached per text).
    /// - Throws: `.duplicatePhrase` if `id` is in use, `.phrase` if the text cannot be used.
    public func addPhrase(id: String, text: String) throws(TrackingError) { try core.addPhrase(id: id, text: text) }

    /// Replaces a phrase's text (adds it when `id` is new): its caches are dropped and it starts a new
    /// track id at the next window. The same text again changes nothing.
    public func setPhrase(id: String, text: String) throws(TrackingError) { try core.setPhrase(id: id, text: text) }

    /// Removes a phrase and releases its caches (nothing happens for an unknown id).
    public func removePhrase(id: String) { core.removePhrase(id: id) }

    /// The phrases in the order they were added.
    public var phrases: [(id: String, text: String)] { core.phrases }

    /// Adds one frame; returns the masks of the frames this call completes (the s newest frames of a
    /// window, all of the first window's frames), in frame order then phrase order. Empty while a
    /// window is filling, and when there are no phrases.
    /// - Throws: `.frame` for a frame whose size differs from the frames in the window (call `reset()`
    ///   first when the camera changes size) or that is too small; `.model` when the model fails.
    public func push(_ frame: StreamFrame) throws(TrackingError) -> [TrackedMask] { try core.push(frame) }

    /// End of stream: runs the last (partial) window and returns the frames not yet emitted. The tracker
    /// is then empty (as after `reset()`) but keeps its phrases.
    public func flush() throws(TrackingError) -> [TrackedMask] { try core.flush() }

    /// Drops the frames of the window and every track (phrases stay; their next masks start new tracks).
    public func reset() { core.reset() }

    public var statistics: TrackerStatistics { core.statistics }
}

/// The type-erased face of `TrackerCore<Model>`.
protocol TrackerEngine: AnyObject {
    var configuration: TrackingConfiguration { get }
    func addPhrase(id: String, text: String) throws(TrackingError)
    func setPhrase(id: String, text: String) throws(TrackingError)
    func removePhrase(id: String)
    var phrases: [(id: String, text: String)] { get }
    func push(_ frame: StreamFrame) throws(TrackingError) -> [TrackedMask]
    func flush() throws(TrackingError) -> [TrackedMask]
    func reset()
    var statistics: TrackerStatistics { get }
}
