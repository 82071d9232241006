import ReferFormer
import Tokenizer
import Tracking

// The only file of the daemon that uses the streaming engine (module Tracking, API in
// /work/coord/TRACKING-API.md): everything else sees `StreamEngine` and `EngineMask`, so a change of
// the engine's API is absorbed here.

/// One mask the engine produced, in the daemon's terms.
struct EngineMask: Sendable {
    var phraseID: String
    var text: String
    var trackID: Int
    /// The engine's frame index (the daemon's own running count per stream, see `StreamEngine.push`).
    var frameIndex: Int
    var score: Float
    var present: Bool
    /// `(x0, y0, x1, y1)` in pixels of the frame.
    var box: (x0: Float, y0: Float, x1: Float, y1: Float)?
    var width: Int
    var height: Int
    /// `height * width`, 0 or 1.
    var mask: [UInt8]
}

/// Seconds spent per stage and work counters, summed since the engine was made.
struct EngineStatistics: Sendable, Equatable {
    var windowsRun = 0
    var backboneRuns = 0
    var cachedFrames = 0
    /// Stage name → seconds (`backbone`, `detection`, `text`, `window`, `linking`).
    var stageSeconds: [String: Double] = [:]
}

/// One stream's engine (a `Tracking.StreamTracker`): phrases, sliding windows and track linking.
///
/// Not thread-safe, like the tracker it wraps: the inference thread is its only user.
final class StreamEngine {
    private let tracker: StreamTracker
    private var frameSize: (width: Int, height: Int)?

    /// - Parameters:
    ///   - window: frames per window and frames emitted per window.
    ///   - shorterSide: the network input's shorter side.
    ///   - pixelDecoder: exact (official) or incremental pixel decoder.
    init(model: LoadedModel, window: (length: Int, stride: Int), shorterSide: Int, pixelDecoder: PixelDecoderMode = .exact) {
        var configuration = TrackingConfiguration(window: WindowConfiguration(length: window.length, stride: window.stride))
        configuration.shorterSide = shorterSide
        configuration.pixelDecoderMode = pixelDecoder
        tracker = StreamTracker(model: model.model, tokenizer: model.tokenizer, configuration: configuration)
    }

    func addPhrase(id: String, text: String) throws(DaemonError) {
        do { try tracker.addPhrase(id: id, text: text) } catch { throw Self.wrap(error, "cannot add the phrase '\(id)'") }
    }

    /// Replaces the text of a phrase; the engine starts a new track for it.
    func setPhrase(id: String, text: String) throws(DaemonError) {
        do { try tracker.setPhrase(id: id, text: text) } catch { throw Self.wrap(error, "cannot replace the phrase '\(id)'") }
    }

    func removePhrase(id: String) { tracker.removePhrase(id: id) }

    /// Adds a frame (tightly packed RGB); returns the masks of the frames this completes, in frame order
    /// then phrase order.
    /// - Parameter index: a running count of the frames given to this engine (0, 1, 2, …).
    /// A frame of another size than the previous ones (a camera that reconnected in another mode) ends
    /// the window: the frames waiting in it are flushed first, their masks returned with this frame's.
    func push(pixels: [UInt8], width: Int, height: Int, index: Int) throws(DaemonError) -> [EngineMask] {
        do {
            var masks: [TrackedMask] = []
            if let size = frameSize, size != (width, height) { masks = try tracker.flush() }
            frameSize = (width, height)
            masks += try tracker.push(StreamFrame(pixels: pixels, width: width, height: height, index: index))
            return masks.map(Self.convert)
        } catch {
            throw Self.wrap(error, "inference failed on frame \(index)")
        }
    }

    /// Runs the last partial window (end of stream, or a stalled source) and returns the frames not
    /// emitted yet; the phrases stay, the next frame starts a new window.
    func flush() throws(DaemonError) -> [EngineMask] {
        do { return try tracker.flush().map(Self.convert) } catch { throw Self.wrap(error, "inference failed at the end of the stream") }
    }

    var statistics: EngineStatistics {
        let s = tracker.statistics
        return EngineStatistics(
            windowsRun: s.windowsRun, backboneRuns: s.backboneRuns, cachedFrames: s.cachedFrames,
            stageSeconds: ["backbone": s.backboneSeconds, "detection": s.detectionSeconds, "text": s.textSeconds,
                           "window": s.windowSeconds, "linking": s.linkingSeconds])
    }

    private static func convert(_ m: TrackedMask) -> EngineMask {
        EngineMask(phraseID: m.phraseID, text: m.text, trackID: m.trackID, frameIndex: m.frameIndex, score: m.score,
                   present: m.present, box: m.box, width: m.width, height: m.height, mask: m.mask)
    }

    private static func wrap(_ error: TrackingError, _ doing: String) -> DaemonError {
        let code: DaemonError.Code = error.code == .phrase || error.code == .duplicatePhrase ? .invalidValue : .runtime
        return DaemonError(code, "\(doing): \(error.message)", underlying: error.underlying.map { "\($0)" })
    }
}
