import Foundation
import ReferFormer
import Tensor
import TestSupport
import Testing
import Tokenizer
import Tracking

/// Records what the real model computes inside the tracker's windows.
final class WindowRecorder {
    struct Window { var frames: [Int]; var maskLogits: Tensor; var logits: [Tensor] }
    var windows: [Window] = []
    var detectedFrames: [[Int]] = []
}

/// `ReferFormerTrackingModel` with its frames' indices kept and its windows recorded; `frameSource`
/// may replace the pixels by already-normalised frames (the golden cases).
struct RecordingModel: TrackingModel {
    typealias Text = ReferFormerTrackingModel.Text
    typealias Detections = ReferFormerTrackingModel.Detections
    struct Features { var index: Int; var inner: ReferFormerTrackingModel.Features }

    let inner: ReferFormerTrackingModel
    let recorder: WindowRecorder
    /// Normalised frame (1, 3, H, W) for a frame index, instead of pre-processing its pixels.
    var normalisedFrame: ((Int) -> Tensor)? = nil

    var backboneScope: BackboneScope { inner.backboneScope }
    func encode(text: String) throws(TrackingError) -> Text { try inner.encode(text: text) }

    func features(of frames: [StreamFrame]) throws(TrackingError) -> [Features] {
        if let normalisedFrame {
            return frames.map { frame in
                let input = normalisedFrame(frame.index)
                return Features(index: frame.index, inner: .init(backbone: inner.model.backbone(input), inputSize: (input.shape[2], input.shape[3])))
            }
        }
        return try zip(frames, inner.features(of: frames)).map { Features(index: $0.index, inner: $1) }
    }

    func detect(_ features: [Features], text: Text) throws(TrackingError) -> [Detections] {
        recorder.detectedFrames.append(features.map(\.index))
        return try inner.detect(features.map(\.inner), text: text)
    }

    func queries(_ detections: Detections) -> FrameQueries { inner.queries(detections) }

    func maskLogits(_ features: [Features], detections: [Detections], text: Text) throws(TrackingError) -> Tensor {
        let masks = try inner.maskLogits(features.map(\.inner), detections: detections, text: text)
        recorder.windows.append(.init(frames: features.map(\.index), maskLogits: masks, logits: detections.map { inner.queries($0).logits }))
        return masks
    }
}

/// The tracker on the tiny golden model against the model run directly (`ReferFormerModel.forward`
/// and `MaskPostProcessing`) on the same frames (tolerances: golden README §6).
@Suite("Streaming engine equals the model (referformer-tiny)", .serialized)
struct EngineEquivalenceTests {
    static let loaded: Result<(ReferFormerModel, RobertaTokenizer), any Error> = Result {
        (try ReferFormerModel.load(weights: Fixtures.url("referformer-tiny/weights.safetensors")),
         try RobertaTokenizer(directory: Fixtures.url("tokenizer")))
    }
    static let phrases = ["the man in the red jacket on the left", "the ball", "a dog on the grass"]
    static let (width, height, side) = (60, 44, 44)

    /// Smooth random frames (a few coloured discs on a gradient), reproducible.
    static func frame(_ index: Int) -> StreamFrame {
        var rng = SplitMix64(seed: UInt64(1000 + index))
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let discs = (0..<3).map { _ in (x: rng.below(width), y: rng.below(height), r: 4 + rng.below(8), c: rng.bytes(3)) }
        for y in 0..<height {
            for x in 0..<width {
                var rgb = [UInt8(x * 4 % 256), UInt8(y * 5 % 256), UInt8((x + y + index * 7) % 256)]
                for d in discs where (x - d.x) * (x - d.x) + (y - d.y) * (y - d.y) <= d.r * d.r { rgb = d.c }
                for c in 0..<3 { pixels[(y * width + x) * 3 + c] = rgb[c] }
            }
        }
        return StreamFrame(pixels: pixels, width: width, height: height, index: index)
    }

    /// The model on frames `indices` as one clip, as `segment` ran it before the engine existed: the
    /// backbone per frame, then `forward` on their features.
    static func direct(_ indices: [Int], text: String, model: ReferFormerModel, tokenizer: RobertaTokenizer) throws -> ReferFormerModel.Output {
        let preprocessor = try FramePreprocessor(options: .init(shorterSide: side))
        let features = BackboneFeatures.concatenating(try indices.map {
            model.backbone(try preprocessor.preprocess(frame($0).pixels, height: height, width: width).unsqueezed(0))
        })
        let encoded = try model.encodeText(ids: model.tokenIDs(text, tokenizer: tokenizer))
        return try model.forward(features: features, text: encoded, imageSize: FramePreprocessor.modelInputSize(originalHeight: height, originalWidth: width, shorterSide: side))
    }

    @Test("every window's outputs equal the model run directly on the window's frames", arguments: [
        WindowConfiguration(length: 3, stride: 3), WindowConfiguration(length: 4, stride: 2), WindowConfiguration(length: 3, stride: 1),
    ])
    func cacheEquivalence(_ window: WindowConfiguration) throws {
        let (model, tokenizer) = try Self.loaded.get()
        let recorder = WindowRecorder()
        let tracker = StreamTracker(
            engine: RecordingModel(inner: ReferFormerTrackingModel(model: model, tokenizer: tokenizer, shorterSide: Self.side), recorder: recorder),
            configuration: TrackingConfiguration(window: window, shorterSide: Self.side))
        try tracker.addPhrase(id: "p1", text: Self.phrases[0])
        var emitted: [TrackedMask] = []
        for i in 0..<7 { emitted += try tracker.push(Self.frame(i)) }
        emitted += try tracker.flush()
        #expect(emitted.map(\.frameIndex) == Array(0..<7))
        // Each frame's per-phrase stages ran once, whatever the overlap.
        #expect(recorder.detectedFrames.flatMap { $0 } == Array(0..<7))
        #expect(tracker.statistics.backboneRuns == 7 && tracker.statistics.detectionRuns == 7)

        for recorded in recorder.windows {
            let direct = try Self.direct(recorded.frames, text: Self.phrases[0], model: model, tokenizer: tokenizer)
            let masks = Comparison(recorded.maskLogits, direct.predMasks.squeezed(0), tolerance: 3e-4)
            #expect(masks.passed, "window \(recorded.frames): \(masks)")
            let logits = Comparison(Tensor.stack(recorded.logits, axis: 0), direct.predLogits.squeezed(0), tolerance: 1e-4)
            #expect(logits.passed, "window \(recorded.frames): \(logits)")
            // A window of frames that are all new is computed exactly as one forward.
            if window.length == window.stride {
                #expect(masks.maxAbs == 0 && logits.maxAbs == 0, "window \(recorded.frames): \(masks)")
            }
        }
        // The first window's masks are the official post-processing of that window.
        let first = recorder.windows[0]
        let direct = try Self.direct(first.frames, text: Self.phrases[0], model: model, tokenizer: tokenizer)
        let post = MaskPostProcessing.process(predLogits: direct.predLogits, predMasks: direct.predMasks, originalSize: (Self.height, Self.width))
        let expected = post.binaryMasks(), n = Self.width * Self.height
        let logits = post.maskLogits.scalars
        for (t, index) in first.frames.enumerated() {
            let mask = try #require(emitted.first { $0.frameIndex == index }).mask
            let differing = (0..<n).filter { mask[$0] != expected[t * n + $0] && abs(logits[t * n + $0]) > 1e-3 }.count
            #expect(differing == 0, "frame \(index): \(differing) pixels differ")
        }
    }

    @Test("whole video: exactly forward + official post-processing on the whole clip")
    func wholeVideo() throws {
        let (model, tokenizer) = try Self.loaded.get()
        let tracker = StreamTracker(model: model, tokenizer: tokenizer, configuration: TrackingConfiguration(window: .wholeVideo, shorterSide: Self.side))
        try tracker.addPhrase(id: "p1", text: Self.phrases[0])
        for i in 0..<5 { #expect(try tracker.push(Self.frame(i)).isEmpty) }
        let masks = try tracker.flush()
        let direct = try Self.direct(Array(0..<5), text: Self.phrases[0], model: model, tokenizer: tokenizer)
        let post = MaskPostProcessing.process(predLogits: direct.predLogits, predMasks: direct.predMasks, originalSize: (Self.height, Self.width))
        let expected = post.binaryMasks(), n = Self.width * Self.height
        #expect(masks.count == 5)
        for (t, m) in masks.enumerated() {
            #expect(m.frameIndex == t && m.trackID == 1)
            #expect(m.mask == Array(expected[(t * n)..<((t + 1) * n)]), "frame \(t)")
            let logit = direct.predLogits[0, t, post.queryIndex, 0]
            #expect(m.score == 1 / (1 + expf(-logit)))
        }
        #expect(tracker.statistics.windowsRun == 1 && tracker.statistics.cachedFrames == 0)
    }

    @Test("whole video on the golden cases: the official masks", arguments: ["case_1", "case_2"])
    func golden(_ name: String) throws {
        let (model, tokenizer) = try Self.loaded.get()
        let golden = try GoldenTensors("referformer-tiny/\(name).safetensors")
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("referformer-tiny/\(name).json"))) as? [String: Any]
        let caption = try #require(meta?["caption"] as? String)
        let frames = try golden.tensor("input.frames")
        let original = Array(try golden.shape("post.mask_logits")[1...])
        let engine = RecordingModel(inner: ReferFormerTrackingModel(model: model, tokenizer: tokenizer, shorterSide: 360), recorder: WindowRecorder(),
                                    normalisedFrame: { frames.sliced(0, $0..<($0 + 1)) })
        let tracker = StreamTracker(engine: engine, configuration: TrackingConfiguration(window: .wholeVideo))
        try tracker.addPhrase(id: "p", text: caption)
        for t in 0..<frames.shape[0] {
            _ = try tracker.push(StreamFrame(pixels: [UInt8](repeating: 0, count: original[0] * original[1] * 3), width: original[1], height: original[0], index: t))
        }
        let masks = try tracker.flush()
        let goldenMask = try golden.ints("post.mask"), logits = try golden.tensor("post.mask_logits").scalars
        let n = original[0] * original[1]
        var differing = 0
        for (t, m) in masks.enumerated() {
            for i in 0..<n where abs(logits[t * n + i]) > 1e-3 && Int(m.mask[i]) != goldenMask[t * n + i] { differing += 1 }
        }
        #expect(masks.count == frames.shape[0] && differing == 0, "\(name): \(differing) pixels differ from the official masks")
    }

    @Test("K phrases on one stream equal K separate runs; the backbone runs once per frame")
    func multiPhrase() throws {
        let (model, tokenizer) = try Self.loaded.get()
        let configuration = TrackingConfiguration(window: WindowConfiguration(length: 3, stride: 2), shorterSide: Self.side)
        let shared = StreamTracker(model: model, tokenizer: tokenizer, configuration: configuration)
        for (k, text) in Self.phrases.enumerated() { try shared.addPhrase(id: "p\(k)", text: text) }
        var together: [TrackedMask] = []
        for i in 0..<6 { together += try shared.push(Self.frame(i)) }
        together += try shared.flush()
        #expect(shared.statistics.backboneRuns == 6 && shared.statistics.detectionRuns == 6 * 3)

        for (k, text) in Self.phrases.enumerated() {
            let alone = StreamTracker(model: model, tokenizer: tokenizer, configuration: configuration)
            try alone.addPhrase(id: "p\(k)", text: text)
            var separate: [TrackedMask] = []
            for i in 0..<6 { separate += try alone.push(Self.frame(i)) }
            separate += try alone.flush()
            let mine = together.filter { $0.phraseID == "p\(k)" }
            #expect(mine.map(\.frameIndex) == separate.map(\.frameIndex))
            #expect(mine.map(\.mask) == separate.map(\.mask), "phrase \(k): masks differ")
            #expect(mine.map(\.score) == separate.map(\.score))
            #expect(alone.statistics.backboneRuns == 6)
        }
    }
}
