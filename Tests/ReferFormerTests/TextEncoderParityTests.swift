import Foundation
import Testing
import Checkpoint
import ReferFormer
import Tensor
import TestSupport
import Tokenizer

/// The RoBERTa text encoder + FeatureResizer against the official model's tensors (golden
/// referformer-tiny: 1-layer RoBERTa of width 768, vocabulary 1000, resizer to 64).
@Suite("Text encoder parity (official referformer-tiny)")
struct TextEncoderParityTests {
    static func loadWeights() throws -> StateDict {
        let file = try SafeTensors(contentsOf: Fixtures.url("referformer-tiny/weights.safetensors"))
        let pairs = try file.names.filter { $0.hasPrefix("text_encoder.") || $0.hasPrefix("resizer.") }.map { name in
            let record = try file.tensor(name)
            return (name, Tensor(shape: record.shape, elements: try record.floats()))
        }
        return StateDict(pairs)
    }

    static func shapes() throws -> [String: [Int]] {
        let file = try SafeTensors(contentsOf: Fixtures.url("referformer-tiny/weights.safetensors"))
        return Dictionary(uniqueKeysWithValues: try file.names.map { ($0, try file.tensor($0).shape) })
    }

    @Test("the RoBERTa shape is inferred from the state dict")
    func inferred() throws {
        let config = try ReferFormerConfiguration.inferred(fromShapes: try Self.shapes()).textEncoder
        #expect(config.vocabSize == 1000 && config.hiddenSize == 768 && config.numHiddenLayers == 1)
        #expect(config.numAttentionHeads == 12 && config.intermediateSize == 128 && config.maxPositionEmbeddings == 514)
        #expect(config.maxTokens == 512)
    }

    @Test("every text tensor matches the official model", arguments: ["case_1", "case_2"])
    func parity(_ name: String) throws {
        let golden = try GoldenTensors("referformer-tiny/\(name).safetensors")
        let weights = try Self.loadWeights()
        let config = try ReferFormerConfiguration.inferred(fromShapes: try Self.shapes()).textEncoder
        let encoder = TextEncoder(weights: weights, roberta: config, hiddenDim: 64)
        try weights.finish()  // strict: every text_encoder.* / resizer.* key used, none missing

        let ids = try golden.ints("text.input_ids")
        let mask = try golden.ints("text.attention_mask").map { $0 == 1 }
        let out = encoder(ids: ids, attentionMask: mask)
        let checks: [(String, Tensor, Double)] = [
            ("text.embeddings", out.roberta.embeddings, 1e-5),
            ("text.last_hidden_state", out.roberta.lastHiddenState, 1e-4),
            ("text.pooler_output", out.roberta.poolerOutput, 1e-4),
            ("text.word_features", out.wordFeatures, 1e-4),
            ("text.sentence_feature", out.sentenceFeature, 1e-4),
        ]
        for (key, actual, tolerance) in checks {
            let comparison = Comparison(actual, try golden.tensor(key), tolerance: tolerance)
            #expect(comparison.passed, "\(name) \(key): \(comparison)")
        }
        #expect(out.paddingMask == [Bool](repeating: false, count: ids.count))
    }

    @Test("from the caption text: the tokenizer gives the official ids, and the features follow", arguments: ["case_1", "case_2"])
    func fromCaption(_ name: String) throws {
        let golden = try GoldenTensors("referformer-tiny/\(name).safetensors")
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("referformer-tiny/\(name).json"))) as? [String: Any]
        let caption = try #require(meta?["caption"] as? String)
        let tokenizer = try RobertaTokenizer(
            vocabularyURL: Fixtures.url("tokenizer/vocab.json"), mergesURL: Fixtures.url("tokenizer/merges.txt"))
        let ids = try tokenizer.encode(caption).ids.map(Int.init)
        #expect(ids == (try golden.ints("text.input_ids")), "\(name): \(caption)")
        let weights = try Self.loadWeights()
        let encoder = TextEncoder(weights: weights, roberta: try ReferFormerConfiguration.inferred(fromShapes: try Self.shapes()).textEncoder, hiddenDim: 64)
        let out = encoder(ids: ids)
        for (key, actual) in [("text.word_features", out.wordFeatures), ("text.sentence_feature", out.sentenceFeature)] {
            let comparison = Comparison(actual, try golden.tensor(key), tolerance: 1e-4)
            #expect(comparison.passed, "\(name) \(key): \(comparison)")
        }
    }

    @Test("padding: pads change neither the real tokens' features nor the pooled output")
    func padding() throws {
        let weights = try Self.loadWeights()
        let config = try ReferFormerConfiguration.inferred(fromShapes: try Self.shapes()).textEncoder
        let encoder = TextEncoder(weights: weights, roberta: config, hiddenDim: 64)
        let ids = [0, 262, 458, 280, 2]
        let plain = encoder(ids: ids)
        let padded = encoder(ids: ids + [1, 1, 1], attentionMask: [true, true, true, true, true, false, false, false])
        #expect(padded.paddingMask == [false, false, false, false, false, true, true, true])
        let real = padded.wordFeatures.sliced(1, 0..<5)
        let c = Comparison(real, plain.wordFeatures, tolerance: 1e-5)
        #expect(c.passed, "padded vs unpadded word features: \(c)")
        let s = Comparison(padded.sentenceFeature, plain.sentenceFeature, tolerance: 1e-5)
        #expect(s.passed, "padded vs unpadded sentence feature: \(s)")
    }

    @Test("a missing or mis-shaped key is reported with every problem at once")
    func strictLoading() throws {
        let file = try SafeTensors(contentsOf: Fixtures.url("referformer-tiny/weights.safetensors"))
        var pairs: [(String, Tensor)] = []
        for name in file.names where name.hasPrefix("text_encoder.") || name.hasPrefix("resizer.") {
            if name == "resizer.fc.bias" { continue }  // missing
            let record = try file.tensor(name)
            let tensor = Tensor(shape: record.shape, elements: try record.floats())
            pairs.append((name, name == "resizer.layer_norm.weight" ? tensor.sliced(0, 0..<10) : tensor))
        }
        pairs.append(("text_encoder.extra.weight", Tensor.zeros([2])))
        pairs.append(("text_encoder.embeddings.position_ids", Tensor.zeros([1, 514])))  // stale buffer: fine
        let weights = StateDict(pairs)
        _ = TextEncoder(weights: weights, roberta: try ReferFormerConfiguration.inferred(fromShapes: try Self.shapes()).textEncoder, hiddenDim: 64)
        do {
            try weights.finish()
            Issue.record("loading should fail")
        } catch {
            #expect(error.code == .weights)
            #expect(error.message.contains("resizer.fc.bias"), "\(error)")
            #expect(error.message.contains("resizer.layer_norm.weight: checkpoint [10], model [64]"), "\(error)")
            #expect(error.message.contains("text_encoder.extra.weight"), "\(error)")
            #expect(!error.message.contains("position_ids"), "\(error)")
        }
    }
}
