import Checkpoint
import Foundation
import Tensor
import TestSupport
import Testing
import Tokenizer
import Tracking

@testable import ReferFormer

/// A backbone that mixes frames (Video-Swin, golden README §8) in the streaming engine: its features
/// are recomputed on every window's frames, and each window equals the model run directly on it.
@Suite("Streaming engine with a per-clip backbone (referformer-videoswin-tiny)", .serialized)
struct VideoSwinTrackingTests {
    /// referformer-tiny without its `backbone.` keys + the Video-Swin overlay; architecture inferred.
    static let loaded = Result { () throws -> (ReferFormerModel, RobertaTokenizer) in
        let base = try SafeTensors(contentsOf: Fixtures.url("referformer-tiny/weights.safetensors"))
        let overlay = try SafeTensors(contentsOf: Fixtures.url("referformer-videoswin-tiny/weights_overlay.safetensors"))
        var pairs: [(String, Tensor)] = []
        for record in base.tensors where !record.name.hasPrefix("backbone.") { pairs.append((record.name, try StateDict.tensor(from: record))) }
        for record in overlay.tensors { pairs.append((record.name, try StateDict.tensor(from: record))) }
        let weights = StateDict(pairs)
        let configuration = try ReferFormerConfiguration.resolve(explicit: nil, shapes: weights.shapes)
        return (try ReferFormerModel(configuration: configuration, weights: weights),
                try RobertaTokenizer(directory: Fixtures.url("tokenizer")))
    }

    /// The model on frames `indices` as one clip: the backbone on the stacked clip, then `forward`.
    static func direct(_ indices: [Int], text: String, model: ReferFormerModel, tokenizer: RobertaTokenizer) throws -> ReferFormerModel.Output {
        let (height, width, side) = (EngineEquivalenceTests.height, EngineEquivalenceTests.width, EngineEquivalenceTests.side)
        let preprocessor = try FramePreprocessor(options: .init(shorterSide: side))
        let clip = Tensor.stack(try indices.map {
            try preprocessor.preprocess(EngineEquivalenceTests.frame($0).pixels, height: height, width: width)
        }, axis: 0)
        let encoded = try model.encodeText(ids: model.tokenIDs(text, tokenizer: tokenizer))
        return try model.forward(features: model.backbone(clip), text: encoded,
                                 imageSize: FramePreprocessor.modelInputSize(originalHeight: height, originalWidth: width, shorterSide: side))
    }

    @Test("each window equals the model on the window's clip; the backbone re-runs per window", arguments: [
        WindowConfiguration(length: 3, stride: 3), WindowConfiguration(length: 3, stride: 1),
    ])
    func perClipWindows(_ window: WindowConfiguration) throws {
        let (model, tokenizer) = try Self.loaded.get()
        #expect(model.backboneMixesFrames)
        let engine = ReferFormerTrackingModel(model: model, tokenizer: tokenizer, shorterSide: EngineEquivalenceTests.side)
        #expect(engine.backboneScope == .perClip)
        let recorder = WindowRecorder()
        let tracker = StreamTracker(engine: RecordingModel(inner: engine, recorder: recorder),
                                    configuration: TrackingConfiguration(window: window, shorterSide: EngineEquivalenceTests.side))
        let text = EngineEquivalenceTests.phrases[1]
        try tracker.addPhrase(id: "p1", text: text)
        var emitted: [TrackedMask] = []
        for i in 0..<6 { emitted += try tracker.push(EngineEquivalenceTests.frame(i)) }
        emitted += try tracker.flush()
        #expect(emitted.map(\.frameIndex) == Array(0..<6))
        // Every window recomputes the backbone on all of its frames.
        #expect(tracker.statistics.backboneRuns == recorder.windows.reduce(0) { $0 + $1.frames.count })
        for recorded in recorder.windows {
            let direct = try Self.direct(recorded.frames, text: text, model: model, tokenizer: tokenizer)
            let masks = Comparison(recorded.maskLogits, direct.predMasks.squeezed(0), tolerance: 3e-4)
            #expect(masks.passed, "window \(recorded.frames): \(masks)")
            let logits = Comparison(Tensor.stack(recorded.logits, axis: 0), direct.predLogits.squeezed(0), tolerance: 1e-4)
            #expect(logits.passed, "window \(recorded.frames): \(logits)")
        }
        // Per-frame features would differ: the clip context reaches every frame (so caching them is wrong).
        let first = recorder.windows[0].frames
        let alone = try Self.direct([first[0]], text: text, model: model, tokenizer: tokenizer)
        let inClip = try Self.direct(first, text: text, model: model, tokenizer: tokenizer)
        #expect(Comparison(alone.predLogits.squeezed(0), inClip.predLogits.squeezed(0).sliced(0, 0..<1), tolerance: 1e-6).maxAbs > 0)
    }
}
