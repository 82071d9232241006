#if canImport(Glibc)
import Glibc
#endif
import ReferFormer
import Tensor

/// The windowing and caching behind `StreamTracker`, generic over the model.
final class TrackerCore<Model: TrackingModel>: TrackerEngine {
    let model: Model
    let configuration: TrackingConfiguration
    /// Deferred from `init` (which cannot throw): reported by the first `push`/`addPhrase`.
    private let configurationError: TrackingError?

    /// A frame in the window.
    struct Slot {
        /// Position in the stream since the tracker started (keys the per-phrase caches).
        var sequence: Int
        var index: Int
        var timestamp: Duration?
        var width: Int
        var height: Int
        /// Per-frame backbone output (nil when the backbone is per clip).
        var features: Model.Features?
        /// The frame itself, kept only when the backbone is per clip (re-run per window).
        var frame: StreamFrame?
    }

    final class Phrase {
        let id: String
        var text: String
        var encoded: Model.Text
        /// Per-frame outputs of this phrase, by `Slot.sequence` (frames still in the window only).
        var detections: [Int: Model.Detections] = [:]
        /// Incremental mode: each frame's pixel-decoder state, by `Slot.sequence` (the newest T − 1
        /// frames pushed, plus the window's), and its mask logits (1, Q, h, w) (frames in the window).
        var pixelStates: [Int: Model.PixelState] = [:]
        var frameMaskLogits: [Int: Tensor] = [:]
        var link = LinkState()

        /// Drops every per-frame cache of this phrase.
        func dropFrames() {
            detections.removeAll()
            pixelStates.removeAll()
            frameMaskLogits.removeAll()
        }

        init(id: String, text: String, encoded: Model.Text) {
            self.id = id
            self.text = text
            self.encoded = encoded
        }
    }

    private var window: [Slot] = []
    /// Frames of `window` (its newest) not emitted yet.
    private var pending = 0
    /// False until the first window since start or `reset()` ran: that one emits all of its frames.
    private var started = false
    private var nextSequence = 0
    private var nextTrackID = 1
    private var phraseList: [Phrase] = []
    private var texts = TextCache<Model.Text>(capacity: 1)
    private var counters = TrackerStatistics()

    init(model: Model, configuration: TrackingConfiguration) {
        self.model = model
        self.configuration = configuration
        do throws(TrackingError) {
            try configuration.validate()
            if configuration.pixelDecoderMode == .incremental && model.backboneScope == .perClip {
                throw TrackingError(.configuration, "the incremental pixel decoder needs a per-frame backbone (ResNet or Swin); this model's backbone mixes the frames of a clip (Video-Swin): use the exact pixel-decoder mode")
            }
            configurationError = nil
        } catch {
            configurationError = error
        }
        texts = TextCache(capacity: max(1, configuration.textCacheCapacity))
    }

    // MARK: Phrases

    var phrases: [(id: String, text: String)] { phraseList.map { ($0.id, $0.text) } }

    func addPhrase(id: String, text: String) throws(TrackingError) {
        if let configurationError { throw configurationError }
        guard !phraseList.contains(where: { $0.id == id }) else {
            throw TrackingError(.duplicatePhrase, "a phrase with the id \"\(id)\" is already on the stream: replace its text instead, or remove it first")
        }
        phraseList.append(Phrase(id: id, text: text, encoded: try encoded(text)))
    }

    func setPhrase(id: String, text: String) throws(TrackingError) {
        guard let phrase = phraseList.first(where: { $0.id == id }) else {
            try addPhrase(id: id, text: text)
            return
        }
        guard phrase.text != text else { return }
        phrase.encoded = try encoded(text)
        phrase.text = text
        phrase.dropFrames()
        phrase.link = LinkState()
    }

    func removePhrase(id: String) {
        phraseList.removeAll { $0.id == id }
    }

    private func encoded(_ text: String) throws(TrackingError) -> Model.Text {
        guard !text.allSatisfy(\.isWhitespace) else {
            throw TrackingError(.phrase, "the phrase is empty: give the words that name the object")
        }
        if let cached = texts[text] { return cached }
        let start = ContinuousClock.now
        let value = try model.encode(text: text)
        counters.textSeconds += (ContinuousClock.now - start).trackingSeconds
        texts[text] = value
        return value
    }

    // MARK: Frames

    func push(_ frame: StreamFrame) throws(TrackingError) -> [TrackedMask] {
        if let configurationError { throw configurationError }
        guard frame.width > 0, frame.height > 0, frame.pixels.count == frame.width * frame.height * 3 else {
            throw TrackingError(.frame, "frame \(frame.index): \(frame.pixels.count) bytes for \(frame.width)×\(frame.height) RGB (need width × height × 3)")
        }
        if let first = window.first, first.width != frame.width || first.height != frame.height {
            throw TrackingError(.frame, "frame \(frame.index) is \(frame.width)×\(frame.height) but the window's frames are \(first.width)×\(first.height): all frames of a stream must have one size (reset the tracker when the source changes size)")
        }
        var slot = Slot(sequence: nextSequence, index: frame.index, timestamp: frame.timestamp, width: frame.width, height: frame.height)
        switch model.backboneScope {
        case .perFrame:
            let start = ContinuousClock.now
            slot.features = try model.features(of: [frame])[0]
            counters.backboneSeconds += (ContinuousClock.now - start).trackingSeconds
            counters.backboneRuns += 1
        case .perClip:
            slot.frame = frame
        }
        nextSequence += 1
        counters.framesPushed += 1
        window.append(slot)
        pending += 1
        let w = configuration.window
        let due = w.isWholeVideo ? false : (started ? pending >= w.stride : window.count >= w.length)
        guard due else { return [] }
        return try runWindow()
    }

    func flush() throws(TrackingError) -> [TrackedMask] {
        if let configurationError { throw configurationError }
        let masks = pending > 0 ? try runWindow() : []
        reset()
        return masks
    }

    func reset() {
        window.removeAll()
        pending = 0
        started = false
        for phrase in phraseList {
            phrase.dropFrames()
            phrase.link = LinkState()
        }
    }

    var statistics: TrackerStatistics {
        var s = counters
        s.cachedFrames = window.count
        s.cachedDetections = phraseList.reduce(0) { $0 + $1.detections.count }
        s.cachedPixelStates = phraseList.reduce(0) { $0 + $1.pixelStates.count }
        s.cachedTexts = texts.count
        s.cachedTrackMasks = phraseList.reduce(0) { $0 + $1.link.sharedMasks.count }
        s.phraseCount = phraseList.count
        return s
    }

    // MARK: Windows

    /// Runs the window on the buffered frames, emits the `pending` newest, then keeps the frames the
    /// next window shares.
    private func runWindow() throws(TrackingError) -> [TrackedMask] {
        let emitted = pending
        let frames = window
        var perPhrase: [[TrackedMask]] = []
        if !phraseList.isEmpty {
            let features: [Model.Features]
            switch model.backboneScope {
            case .perFrame:
                features = frames.map { $0.features! }  // set for every slot when per frame
            case .perClip:
                let start = ContinuousClock.now
                features = try model.features(of: frames.map { $0.frame! })  // set when per clip
                counters.backboneSeconds += (ContinuousClock.now - start).trackingSeconds
                counters.backboneRuns += frames.count
            }
            for phrase in phraseList {
                perPhrase.append(try run(phrase, frames: frames, features: features, emitting: emitted))
            }
        }
        counters.windowsRun += 1
        started = true
        pending = 0
        // The next window is the newest `length` frames once `stride` more arrived.
        let w = configuration.window
        let keep = w.isWholeVideo ? 0 : w.length - w.stride
        window.removeFirst(window.count - min(keep, window.count))
        let kept = Set(window.map(\.sequence))
        // Incremental mode: a frame's state serves the T − 1 frames after it.
        let oldestContext = nextSequence - (w.isWholeVideo ? nextSequence : w.length - 1)
        for phrase in phraseList {
            phrase.detections = phrase.detections.filter { kept.contains($0.key) }
            phrase.link.sharedMasks = phrase.link.sharedMasks.filter { kept.contains($0.key) }
            phrase.frameMaskLogits = phrase.frameMaskLogits.filter { kept.contains($0.key) }
            phrase.pixelStates = phrase.pixelStates.filter { $0.key >= oldestContext }
        }
        // Frame order, then phrase order.
        var out: [TrackedMask] = []
        out.reserveCapacity(emitted * perPhrase.count)
        for f in 0..<emitted {
            for masks in perPhrase { out.append(masks[f]) }
        }
        counters.masksEmitted += out.count
        return out
    }

    /// One phrase on one window: its missing per-frame outputs, the window stages, the query choice and
    /// the masks of the `emitting` newest frames.
    private func run(_ phrase: Phrase, frames: [Slot], features: [Model.Features], emitting: Int) throws(TrackingError) -> [TrackedMask] {
        var start = ContinuousClock.now
        var detections: [Model.Detections]
        switch model.backboneScope {
        case .perFrame:
            let missing = frames.indices.filter { phrase.detections[frames[$0].sequence] == nil }
            if !missing.isEmpty {
                let fresh = try model.detect(missing.map { features[$0] }, text: phrase.encoded)
                for (i, t) in missing.enumerated() { phrase.detections[frames[t].sequence] = fresh[i] }
                counters.detectionRuns += missing.count
            }
            detections = frames.map { phrase.detections[$0.sequence]! }  // filled just above
        case .perClip:
            detections = try model.detect(features, text: phrase.encoded)
            counters.detectionRuns += frames.count
        }
        counters.detectionSeconds += (ContinuousClock.now - start).trackingSeconds

        start = ContinuousClock.now
        let maskLogits: Tensor
        switch configuration.pixelDecoderMode {
        case .exact:
            maskLogits = try model.maskLogits(features, detections: detections, text: phrase.encoded)
            counters.pixelDecoderFrames += frames.count
        case .incremental:
            maskLogits = try incrementalMaskLogits(phrase, frames: frames, features: features, detections: detections)
        }
        counters.windowSeconds += (ContinuousClock.now - start).trackingSeconds

        start = ContinuousClock.now
        defer { counters.linkingSeconds += (ContinuousClock.now - start).trackingSeconds }
        let queries = detections.map(model.queries)
        let window = WindowOutputs(queries: queries, maskLogits: maskLogits, sequences: frames.map(\.sequence))
        let choice = QueryLinker(configuration: configuration).choose(window: window, state: phrase.link)
        if choice.newTrack {
            phrase.link.trackID = nextTrackID
            nextTrackID += 1
        }
        let trackID = phrase.link.trackID!  // set just above
        let q = choice.query

        // Masks of the emitted frames at the original size: the chosen query's logits resized
        // (bilinear, align_corners=False) and `sigmoid > 0.5`, as inference_ytvos.py.
        let first = frames.count - emitting
        let (height, width) = (frames[0].height, frames[0].width)
        let chosen = maskLogits.sliced(0, first..<frames.count).selecting(1, q).contiguous()
        let resized = MaskPostProcessing.resizeMasks(chosen, height: height, width: width).contiguous()
        let perFrame = height * width
        var masks: [TrackedMask] = []
        resized.withUnsafeBufferPointer { logits in
            for e in 0..<emitting {
                let t = first + e
                var mask = [UInt8](repeating: 0, count: perFrame)
                for i in 0..<perFrame where 1 / (1 + expf(-logits[e * perFrame + i])) > 0.5 { mask[i] = 1 }
                let score = window.frameScore(t, query: q)
                phrase.link.observe(score: score, threshold: configuration.presenceThreshold)
                let b = window.box(t, query: q)
                let box = (x0: (b.cx - b.w / 2) * Float(width), y0: (b.cy - b.h / 2) * Float(height),
                           x1: (b.cx + b.w / 2) * Float(width), y1: (b.cy + b.h / 2) * Float(height))
                masks.append(TrackedMask(
                    phraseID: phrase.id, text: phrase.text, trackID: trackID, frameIndex: frames[t].index,
                    timestamp: frames[t].timestamp, score: score,
                    present: phrase.link.lowFrames < configuration.absentAfterFrames, box: box,
                    width: width, height: height, mask: mask))
            }
        }
        phrase.link.absent = phrase.link.lowFrames >= configuration.absentAfterFrames
        phrase.link.query = q
        let newest = window.box(frames.count - 1, query: q)
        let before = frames.count >= 2 ? window.box(frames.count - 2, query: q) : phrase.link.lastBox
        phrase.link.velocity = before.map { (newest.cx - $0.cx, newest.cy - $0.cy) } ?? (0, 0)
        phrase.link.lastBox = newest
        // The chosen query's masks on the frames the next window shares, for its linking.
        let w = configuration.window
        let shared = w.isWholeVideo ? 0 : min(w.length - w.stride, frames.count)
        phrase.link.sharedMasks = [:]
        for t in (frames.count - shared)..<frames.count {
            phrase.link.sharedMasks[frames[t].sequence] = window.binaryMask(t, query: q)
        }
        return masks
    }

    /// Incremental mode: the window's mask logits (T, Q, h, w) from each frame's cached logits; a frame
    /// without them (new, in time order) runs the pixel decoder alone, attending to the states of the up
    /// to T − 1 frames before it.
    private func incrementalMaskLogits(_ phrase: Phrase, frames: [Slot], features: [Model.Features],
                                       detections: [Model.Detections]) throws(TrackingError) -> Tensor {
        let w = configuration.window
        var logits: [Tensor] = []
        logits.reserveCapacity(frames.count)
        for (t, slot) in frames.enumerated() {
            if let cached = phrase.frameMaskLogits[slot.sequence] {
                logits.append(cached)
                continue
            }
            let oldest = w.isWholeVideo ? 0 : slot.sequence - (w.length - 1)
            let earlier = phrase.pixelStates.filter { $0.key >= oldest && $0.key < slot.sequence }.sorted { $0.key < $1.key }.map(\.value)
            let step = try model.incrementalMaskLogits(features[t], detections: detections[t], text: phrase.encoded, earlier: earlier)
            phrase.pixelStates[slot.sequence] = step.state
            phrase.frameMaskLogits[slot.sequence] = step.maskLogits
            counters.pixelDecoderFrames += 1
            logits.append(step.maskLogits)
        }
        return logits.count == 1 ? logits[0] : Tensor.concat(logits, axis: 0)
    }
}

/// Least-recently-used encoded texts.
struct TextCache<Value> {
    let capacity: Int
    private var values: [String: Value] = [:]
    private var order: [String] = []

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { values.count }

    subscript(text: String) -> Value? {
        mutating get {
            guard let value = values[text] else { return nil }
            order.removeAll { $0 == text }
            order.append(text)
            return value
        }
        set {
            order.removeAll { $0 == text }
            values[text] = newValue
            guard newValue != nil else { return }
            order.append(text)
            while order.count > capacity { values[order.removeFirst()] = nil }
        }
    }
}

extension Duration {
    var trackingSeconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
