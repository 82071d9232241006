import Foundation
import Testing
import ReferFormer
import Tensor
import TestSupport
import Tokenizer

/// The whole network, from the caption text and the normalised frames to the binary masks, against
/// every tensor the official code recorded for the tiny golden model (tolerances: golden README §6).
@Suite("ReferFormer end to end (official referformer-tiny)")
struct EndToEndParityTests {
    /// Relative tolerance (× RMS of the golden tensor) for a golden tensor name.
    static func tolerance(_ name: String) -> Double {
        if name.hasPrefix("pos.") || name == "decoder.init_reference" || name == "encoder.reference_points" { return 1e-5 }
        if name.hasPrefix("text.") || name.hasPrefix("decoder.") || name.hasPrefix("mask_head.")
            || name.hasSuffix("pred_logits") || name.hasSuffix("pred_boxes") || name == "post.scores"
            || name == "output.reference_points" { return 1e-4 }
        return 3e-4  // backbone, fusion, encoder, pixel decoder, masks
    }

    /// Loaded once for all tests of the suite.
    static let model: Result<ReferFormerModel, ReferFormerError> = {
        do throws(ReferFormerError) {
            return .success(try ReferFormerModel.load(weights: Fixtures.url("referformer-tiny/weights.safetensors")))
        } catch {
            return .failure(error)
        }
    }()

    static func caption(_ name: String) throws -> String {
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("referformer-tiny/\(name).json"))) as? [String: Any]
        return try #require(meta?["caption"] as? String)
    }

    @Test("the architecture is inferred from the weights alone")
    func configuration() throws {
        let c = try Self.model.get().configuration
        #expect(c.hiddenDim == 64 && c.encLayers == 2 && c.decLayers == 2 && c.dimFeedforward == 128 && c.numQueries == 5)
        #expect(c.backbone.layers == [2, 1, 1, 1] && c.backbone.widthPerGroup == 8 && c.maskDim == 64)
        #expect(c.textEncoder.vocabSize == 1000 && c.textEncoder.numHiddenLayers == 1 && c.textEncoder.intermediateSize == 128)
    }

    @Test("every stored tensor matches, from caption text and frames to masks", arguments: ["case_1", "case_2"])
    func parity(_ name: String) throws {
        let model = try Self.model.get()
        let golden = try GoldenTensors("referformer-tiny/\(name).safetensors")
        let tokenizer = try RobertaTokenizer(
            vocabularyURL: Fixtures.url("tokenizer/vocab.json"), mergesURL: Fixtures.url("tokenizer/merges.txt"))
        let ids = try tokenizer.encode(try Self.caption(name)).ids.map(Int.init)
        #expect(ids == (try golden.ints("text.input_ids")))

        let frames = try golden.tensor("input.frames")
        let size = try golden.ints("input.size")
        var produced: [String: Tensor] = [:]
        let text = try model.encodeText(ids: ids)
        produced["text.embeddings"] = text.roberta.embeddings
        produced["text.last_hidden_state"] = text.roberta.lastHiddenState
        produced["text.pooler_output"] = text.roberta.poolerOutput
        produced["text.word_features"] = text.wordFeatures
        produced["text.sentence_feature"] = text.sentenceFeature
        let features = model.backbone(frames)
        for (i, level) in features.levels.enumerated() { produced["backbone.res\(i + 2)"] = level }
        let output = try model.forward(features: features, text: text, imageSize: (size[0], size[1])) { produced[$0] = $1 }
        produced["output.pred_logits"] = output.predLogits
        produced["output.pred_boxes"] = output.predBoxes
        produced["output.pred_masks"] = output.predMasks

        let oh = (try golden.shape("post.mask_logits"))[1]
        let ow = (try golden.shape("post.mask_logits"))[2]
        let post = MaskPostProcessing.process(predLogits: output.predLogits, predMasks: output.predMasks, originalSize: (oh, ow))
        produced["post.scores"] = Tensor(shape: [post.scores.count], elements: post.scores)
        produced["post.mask_logits"] = post.maskLogits

        var compared = 0
        for (key, actual) in produced.sorted(by: { $0.key < $1.key }) {
            guard (try? golden.shape(key)) != nil else { continue }  // not stored for this case
            let comparison = Comparison(actual, try golden.tensor(key), tolerance: Self.tolerance(key))
            #expect(comparison.passed, "\(name) \(key): \(comparison)")
            compared += 1
        }
        #expect(compared >= (name == "case_1" ? 40 : 48), "\(name): only \(compared) tensors compared")

        #expect(post.queryIndex == (try golden.ints("post.query_index"))[0])
        // Binary masks: equal wherever the logit is not within 1e-3 of the threshold.
        let goldenMask = try golden.ints("post.mask")
        let logits = post.maskLogits.scalars
        let mask = post.binaryMasks()
        var differing = 0
        for i in 0..<goldenMask.count where abs(logits[i]) > 1e-3 && Int(mask[i]) != goldenMask[i] { differing += 1 }
        #expect(mask.count == goldenMask.count && differing == 0, "\(name): \(differing) mask pixels differ")
    }

    @Test("frames are per-frame until the pixel decoder: a 1-frame clip gives the same boxes as frame 0 of the clip")
    func perFrame() throws {
        let model = try Self.model.get()
        let golden = try GoldenTensors("referformer-tiny/case_1.safetensors")
        let frames = try golden.tensor("input.frames")
        let text = try model.encodeText(ids: try golden.ints("text.input_ids"))
        let single = try model.forward(features: model.backbone(frames.sliced(0, 0..<1)), text: text, imageSize: (92, 132))
        let c = Comparison(single.predBoxes, try golden.tensor("output.pred_boxes").sliced(1, 0..<1), tolerance: 1e-4)
        #expect(c.passed, "\(c)")
    }

    @Test("bad inputs are errors, not crashes")
    func badInputs() throws {
        let model = try Self.model.get()
        #expect(throws: ReferFormerError.self) { try model.encodeText(ids: []) }
        #expect(throws: ReferFormerError.self) { try model.encodeText(ids: [0, 5000, 2]) }
        #expect(throws: ReferFormerError.self) { try model.encodeText(ids: [Int](repeating: 5, count: 600)) }
        let text = try model.encodeText(ids: [0, 262, 2])
        let tiny = Tensor.zeros([1, 3, 20, 40])
        #expect(throws: ReferFormerError.self) { try model.forward(features: model.backbone(tiny), text: text, imageSize: (20, 40)) }
        #expect(throws: ReferFormerError.self) { try ReferFormerModel.load(weights: URL(fileURLWithPath: "/nonexistent/weights.safetensors")) }
    }
}
