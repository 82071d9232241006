import Foundation
import ReferFormer
import Tensor
import TestSupport
import Testing
import Tokenizer
import Tracking

/// Mask IoU of two 0/1 masks (1 when both are empty).
func maskIoU(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count, "masks of \(a.count) and \(b.count) pixels")
    var inter = 0, union = 0
    for i in a.indices {
        let x = a[i] != 0, y = b[i] != 0
        if x && y { inter += 1 }
        if x || y { union += 1 }
    }
    return union == 0 ? 1 : Double(inter) / Double(union)
}

/// The incremental pixel decoder on the tiny golden model against the exact one.
@Suite("Incremental pixel decoder (referformer-tiny)", .serialized)
struct IncrementalPixelDecoderTests {
    typealias Tiny = EngineEquivalenceTests

    static func engine() throws -> ReferFormerTrackingModel {
        let (model, tokenizer) = try Tiny.loaded.get()
        return ReferFormerTrackingModel(model: model, tokenizer: tokenizer, shorterSide: Tiny.side)
    }

    /// 0/1 masks of every query (Q, h·w) at the mask grid, `logit > 0`.
    static func binary(_ logits: Tensor) -> [[UInt8]] {
        let q = logits.shape[1], n = logits.shape[2] * logits.shape[3]
        let values = logits.contiguous().scalars
        return (0..<q).map { j in values[(j * n)..<((j + 1) * n)].map { $0 > 0 ? 1 : 0 } }
    }

    @Test("one frame with no earlier frame: bit for bit the exact decoder on a one-frame clip")
    func singleFrame() throws {
        let engine = try Self.engine()
        let text = try engine.encode(text: Tiny.phrases[0])
        for index in 0..<3 {
            let features = try engine.features(of: [Tiny.frame(index)])
            let detections = try engine.detect(features, text: text)
            let exact = try engine.maskLogits(features, detections: detections, text: text)
            let step = try engine.incrementalMaskLogits(features[0], detections: detections[0], text: text, earlier: [])
            let comparison = Comparison(step.maskLogits, exact, tolerance: 0)
            #expect(comparison.shapesMatch && comparison.maxAbs == 0, "frame \(index): \(comparison)")
            // The state is the reduced keys/values of the four blocks: ⌊h/sr⌋·⌊w/sr⌋ tokens each.
            #expect(step.state.keys.count == 4 && step.state.values.count == 4)
            #expect(zip(step.state.keys, step.state.values).allSatisfy { $0.shape == $1.shape && $0.shape[1] == 1 })
        }
    }

    /// A clip of 4 frames: the newest frame's incremental output (earlier states computed incrementally)
    /// equals the exact clip's output for it, because a block's keys and values depend on their own
    /// frame only. The older frames, which see only the frames before them, are the approximation:
    /// measured on this model, mask IoU per query at the mask grid: min 0.884, mean 0.986 (asserted
    /// ≥ 0.85 and ≥ 0.97).
    @Test("the newest frame equals the exact clip; older frames are close")
    func newestFrameExact() throws {
        let engine = try Self.engine()
        let text = try engine.encode(text: Tiny.phrases[0])
        let features = try engine.features(of: (0..<4).map(Tiny.frame))
        let detections = try engine.detect(features, text: text)
        let exact = try engine.maskLogits(features, detections: detections, text: text)
        var states: [PixelDecoderFrameState] = []
        var incremental: [Tensor] = []
        for t in 0..<4 {
            let step = try engine.incrementalMaskLogits(features[t], detections: detections[t], text: text, earlier: states)
            states.append(step.state)
            incremental.append(step.maskLogits)
        }
        let newest = Comparison(incremental[3], exact.sliced(0, 3..<4), tolerance: 1e-5)
        #expect(newest.passed, "newest frame: \(newest)")
        var ious: [Double] = []
        for t in 0..<3 {
            let a = Self.binary(incremental[t]), b = Self.binary(exact.sliced(0, t..<(t + 1)))
            for j in a.indices { ious.append(maskIoU(a[j], b[j])) }
        }
        let least = ious.min() ?? 0, mean = ious.reduce(0, +) / Double(max(ious.count, 1))
        #expect(least >= 0.85 && mean >= 0.97, "older frames' mask IoU: min \(least), mean \(mean)")
    }

    static func run(_ window: WindowConfiguration, mode: PixelDecoderMode, frames: Int) throws -> (masks: [TrackedMask], statistics: TrackerStatistics) {
        let tracker = StreamTracker(engine: try engine(), configuration: TrackingConfiguration(window: window, shorterSide: Tiny.side, pixelDecoderMode: mode))
        try tracker.addPhrase(id: "p1", text: Tiny.phrases[0])
        try tracker.addPhrase(id: "p2", text: Tiny.phrases[1])
        var out: [TrackedMask] = []
        for i in 0..<frames { out += try tracker.push(Tiny.frame(i)) }
        let statistics = tracker.statistics
        return (out + (try tracker.flush()), statistics)
    }

    @Test("window 1: the tracker's masks, scores and tracks are identical in both modes")
    func windowOne() throws {
        let window = WindowConfiguration(length: 1, stride: 1)
        let exact = try Self.run(window, mode: .exact, frames: 5), incremental = try Self.run(window, mode: .incremental, frames: 5)
        #expect(exact.masks.count == 10 && incremental.masks.count == 10)
        #expect(exact.masks.map(\.mask) == incremental.masks.map(\.mask))
        #expect(exact.masks.map(\.score) == incremental.masks.map(\.score))
        #expect(exact.masks.map(\.trackID) == incremental.masks.map(\.trackID))
        #expect(incremental.statistics.pixelDecoderFrames == 10 && exact.statistics.pixelDecoderFrames == 10)
    }

    /// Window 4, stride 1 over 9 frames, two phrases: from the second window on, the emitted (newest)
    /// frame's mask is exact mode's; the first window's three older frames are the causal
    /// approximation (measured IoU: 1.0 on five of the six, 0.9875 on one; asserted ≥ 0.95). The pixel decoder runs once per
    /// (frame, phrase) instead of 4 times.
    @Test("window 4 stride 1: emitted masks equal exact mode after the first window")
    func strideOne() throws {
        let window = WindowConfiguration(length: 4, stride: 1)
        let exact = try Self.run(window, mode: .exact, frames: 9), incremental = try Self.run(window, mode: .incremental, frames: 9)
        #expect(exact.masks.map(\.frameIndex) == incremental.masks.map(\.frameIndex) && exact.masks.count == 18)
        for (e, i) in zip(exact.masks, incremental.masks) {
            let iou = maskIoU(e.mask, i.mask)
            if e.frameIndex >= window.length - 1 {
                #expect(iou >= 0.999 && e.score == i.score && e.trackID == i.trackID, "frame \(e.frameIndex) \(e.phraseID): IoU \(iou)")
            } else {
                #expect(iou >= 0.95, "first window, frame \(e.frameIndex) \(e.phraseID): IoU \(iou)")
            }
        }
        #expect(incremental.statistics.pixelDecoderFrames == 9 * 2)
        #expect(exact.statistics.pixelDecoderFrames == 6 * 4 * 2)
    }

    @Test("a per-clip backbone (Video-Swin) is refused in incremental mode")
    func perClipRefused() throws {
        var model = ScriptedModel { _, _ in [ScriptedQuery(score: 0.9, rect: Rect(x0: 0, y0: 0, x1: 4, y1: 4))] }
        model.backboneScope = .perClip
        let tracker = StreamTracker(engine: model, configuration: TrackingConfiguration(pixelDecoderMode: .incremental))
        #expect(throws: TrackingError.self) { try tracker.addPhrase(id: "a", text: "x") }
    }
}

/// The scripted model with an incremental form whose state is the frame index: records the frames
/// each new frame attends to.
final class ContextLog { var calls: [(frame: Int, earlier: [Int])] = [] }

struct IncrementalScriptedModel: TrackingModel {
    var inner: ScriptedModel
    let log: ContextLog
    typealias PixelState = Int

    var backboneScope: BackboneScope { inner.backboneScope }
    func encode(text: String) throws(TrackingError) -> String { text }
    func features(of frames: [StreamFrame]) throws(TrackingError) -> [ScriptedModel.Features] { try inner.features(of: frames) }
    func detect(_ features: [ScriptedModel.Features], text: String) throws(TrackingError) -> [ScriptedModel.Detections] {
        try inner.detect(features, text: text)
    }
    func queries(_ d: ScriptedModel.Detections) -> FrameQueries { inner.queries(d) }
    func maskLogits(_ features: [ScriptedModel.Features], detections: [ScriptedModel.Detections], text: String) throws(TrackingError) -> Tensor {
        try inner.maskLogits(features, detections: detections, text: text)
    }
    func incrementalMaskLogits(_ features: ScriptedModel.Features, detections: ScriptedModel.Detections, text: String,
                               earlier: [Int]) throws(TrackingError) -> (maskLogits: Tensor, state: Int) {
        log.calls.append((features.index, earlier))
        return (try inner.maskLogits([features], detections: [detections], text: text), features.index)
    }
}

@Suite("Incremental mode's caches (scripted model)")
struct IncrementalCacheTests {
    static func model(_ log: ContextLog) -> IncrementalScriptedModel {
        IncrementalScriptedModel(inner: ScriptedModel { text, t in
            let x = (t + text.count) % 26
            return [ScriptedQuery(score: 0.8, rect: Rect(x0: x, y0: 4, x1: x + 6, y1: 10))]
        }, log: log)
    }

    @Test("each frame runs once and attends to the up to T − 1 frames before it, in order", arguments: [
        WindowConfiguration(length: 5, stride: 1), WindowConfiguration(length: 4, stride: 2), WindowConfiguration(length: 3, stride: 3),
    ])
    func context(_ window: WindowConfiguration) throws {
        let log = ContextLog()
        let tracker = StreamTracker(engine: Self.model(log), configuration: TrackingConfiguration(window: window, pixelDecoderMode: .incremental))
        try tracker.addPhrase(id: "a", text: "the thing")
        let masks = try runStream(tracker, frames: 20)
        #expect(masks.map(\.frameIndex) == Array(0..<20))
        #expect(log.calls.map(\.frame) == Array(0..<20))
        for call in log.calls {
            #expect(call.earlier == Array(max(0, call.frame - (window.length - 1))..<call.frame), "frame \(call.frame)")
        }
    }

    /// 3 000 frames with phrase changes (as BoundedMemoryTests): the pixel-decoder states stay at
    /// T − 1 per phrase between pushes; reset drops them.
    @Test("states stay bounded over thousands of frames and phrase changes")
    func bounded() throws {
        let log = ContextLog()
        let window = WindowConfiguration(length: 5, stride: 1)
        let tracker = StreamTracker(engine: Self.model(log), configuration: TrackingConfiguration(window: window, pixelDecoderMode: .incremental))
        try tracker.addPhrase(id: "a", text: "phrase 0")
        try tracker.addPhrase(id: "b", text: "the same one")
        var most = 0, emitted = 0
        for i in 0..<3000 {
            if i % 10 == 0 { try tracker.setPhrase(id: "a", text: "phrase \(i / 10)") }
            if i % 15 == 0 { try tracker.addPhrase(id: "c", text: "extra \(i % 45)") }
            if i % 15 == 7 { tracker.removePhrase(id: "c") }
            emitted += try tracker.push(blankFrame(i)).count
            most = max(most, tracker.statistics.cachedPixelStates)
        }
        // T − 1 = 4 states for each of at most 3 phrases.
        #expect(most == 4 * 3, "most states held: \(most)")
        #expect(log.calls.allSatisfy { $0.earlier.count <= 4 })
        #expect(emitted == tracker.statistics.masksEmitted && tracker.statistics.cachedPixelStates <= 4 * 2)
        tracker.reset()
        #expect(tracker.statistics.cachedPixelStates == 0)
    }
}
