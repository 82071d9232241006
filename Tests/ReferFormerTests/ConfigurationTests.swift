import Checkpoint
import Foundation
import Tensor
import Testing
import TestSupport

@testable import ReferFormer

/// The official R50 / box-refine / binary state dict's key → shape list (spec §2), built from the
/// table rather than from data: 804 keys, nothing allocated.
func officialShapes(hidden c: Int = 256, ffn: Int = 2048, enc: Int = 4, dec: Int = 4, queries: Int = 5,
                    blocks: [Int] = [3, 4, 6, 3], width: Int = 64, textLayers: Int = 12, vocab: Int = 50265,
                    textFFN: Int = 3072, controllerOut: Int = 2153, maskDim: Int = 256) -> [String: [Int]] {
    var s: [String: [Int]] = [:]
    // Backbone (265 keys with ResNet-50).
    let body = "backbone.0.body."
    func bn(_ p: String, _ n: Int) { for k in ["weight", "bias", "running_mean", "running_var"] { s["\(p).\(k)"] = [n] } }
    s["\(body)conv1.weight"] = [64, 3, 7, 7]
    bn("\(body)bn1", 64)
    var inC = 64
    for (stage, count) in blocks.enumerated() {
        let w = width << stage, out = 256 << stage
        for b in 0..<count {
            let p = "\(body)layer\(stage + 1).\(b)"
            let i = b == 0 ? inC : out
            s["\(p).conv1.weight"] = [w, i, 1, 1]; bn("\(p).bn1", w)
            s["\(p).conv2.weight"] = [w, w, 3, 3]; bn("\(p).bn2", w)
            s["\(p).conv3.weight"] = [out, w, 1, 1]; bn("\(p).bn3", out)
            if b == 0 { s["\(p).downsample.0.weight"] = [out, i, 1, 1]; bn("\(p).downsample.1", out) }
        }
        inC = out
    }
    // Text encoder (199 keys with roberta-base).
    let t = "text_encoder."
    s["\(t)embeddings.word_embeddings.weight"] = [vocab, 768]
    s["\(t)embeddings.position_embeddings.weight"] = [514, 768]
    s["\(t)embeddings.token_type_embeddings.weight"] = [1, 768]
    s["\(t)embeddings.LayerNorm.weight"] = [768]; s["\(t)embeddings.LayerNorm.bias"] = [768]
    for l in 0..<textLayers {
        let p = "\(t)encoder.layer.\(l)"
        for n in ["query", "key", "value"] { s["\(p).attention.self.\(n).weight"] = [768, 768]; s["\(p).attention.self.\(n).bias"] = [768] }
        s["\(p).attention.output.dense.weight"] = [768, 768]; s["\(p).attention.output.dense.bias"] = [768]
        s["\(p).attention.output.LayerNorm.weight"] = [768]; s["\(p).attention.output.LayerNorm.bias"] = [768]
        s["\(p).intermediate.dense.weight"] = [textFFN, 768]; s["\(p).intermediate.dense.bias"] = [textFFN]
        s["\(p).output.dense.weight"] = [768, textFFN]; s["\(p).output.dense.bias"] = [768]
        s["\(p).output.LayerNorm.weight"] = [768]; s["\(p).output.LayerNorm.bias"] = [768]
    }
    s["\(t)pooler.dense.weight"] = [768, 768]; s["\(t)pooler.dense.bias"] = [768]
    // Everything else.
    func linear(_ p: String, _ o: Int, _ i: Int) { s["\(p).weight"] = [o, i]; s["\(p).bias"] = [o] }
    func mha(_ p: String) { s["\(p).in_proj_weight"] = [3 * c, c]; s["\(p).in_proj_bias"] = [3 * c]; linear("\(p).out_proj", c, c) }
    func msda(_ p: String) {
        linear("\(p).sampling_offsets", 8 * 4 * 4 * 2, c); linear("\(p).attention_weights", 8 * 4 * 4, c)
        linear("\(p).value_proj", c, c); linear("\(p).output_proj", c, c)
    }
    func ln(_ p: String) { s["\(p).weight"] = [c]; s["\(p).bias"] = [c] }
    linear("resizer.fc", c, 768); ln("resizer.layer_norm")
    mha("fusion_module.multihead_attn")
    for (l, inCh) in [512, 1024, 2048].enumerated() { linear("input_proj.\(l).0", c, inCh); s["input_proj.\(l).0.weight"] = [c, inCh, 1, 1]; ln("input_proj.\(l).1") }
    s["input_proj.3.0.weight"] = [c, 2048, 3, 3]; s["input_proj.3.0.bias"] = [c]; ln("input_proj.3.1")
    s["query_embed.weight"] = [queries, c]
    s["transformer.level_embed"] = [4, c]
    linear("transformer.reference_points", 2, c)
    for l in 0..<enc {
        let p = "transformer.encoder.layers.\(l)"
        msda("\(p).self_attn"); ln("\(p).norm1"); ln("\(p).norm2"); linear("\(p).linear1", ffn, c); linear("\(p).linear2", c, ffn)
    }
    for l in 0..<dec {
        let p = "transformer.decoder.layers.\(l)"
        msda("\(p).cross_attn"); mha("\(p).self_attn")
        ln("\(p).norm1"); ln("\(p).norm2"); ln("\(p).norm3"); linear("\(p).linear1", ffn, c); linear("\(p).linear2", c, ffn)
    }
    for l in 0..<dec {
        linear("class_embed.\(l)", 1, c)
        for prefix in ["bbox_embed.\(l)", "transformer.decoder.bbox_embed.\(l)"] {
            linear("\(prefix).layers.0", c, c); linear("\(prefix).layers.1", c, c); linear("\(prefix).layers.2", 4, c)
        }
    }
    for k in 1...4 {
        s["pixel_decoder.adapter_\(k).weight"] = [c, c, 1, 1]; ln("pixel_decoder.adapter_\(k).norm")
        s["pixel_decoder.layer_\(k).weight"] = [c, c, 3, 3]; ln("pixel_decoder.layer_\(k).norm")
        let p = "pixel_decoder.cross_attn_\(k)"
        mha("\(p).self_attn"); mha("\(p).multihead_attn"); linear("\(p).linear1", ffn, c); linear("\(p).linear2", c, ffn)
        ln("\(p).norm1"); ln("\(p).norm2"); ln("\(p).norm3")
    }
    s["pixel_decoder.mask_features.weight"] = [maskDim, c, 3, 3]; s["pixel_decoder.mask_features.bias"] = [maskDim]
    linear("controller.layers.0", c, c); linear("controller.layers.1", c, c); linear("controller.layers.2", controllerOut, c)
    return s
}

@Suite("ReferFormer configuration and architecture inference")
struct ConfigurationTests {
    @Test("the synthetic official R50 state dict has the spec's 804 keys and infers the official configuration")
    func inferFullSizeR50() throws {
        let shapes = officialShapes()
        #expect(shapes.count == 804, "\(shapes.count) keys")
        #expect(shapes.keys.filter { $0.hasPrefix("backbone.") }.count == 265)
        #expect(shapes.keys.filter { $0.hasPrefix("text_encoder.") }.count == 199)
        let inferred = try ReferFormerConfiguration.inferred(fromShapes: shapes)
        let official = ReferFormerConfiguration()
        #expect(inferred == official, "inferred \(inferred)\nofficial \(official)")
        #expect(inferred.backbone == .resnet50)
        #expect(inferred.textEncoder == .robertaBase, "\(inferred.textEncoder)")
        #expect(inferred.controllerParameterCount == 2153)
        #expect(inferred.controllerWeightNums == [2064, 64, 8] && inferred.controllerBiasNums == [8, 8, 1])
    }

    @Test("a ResNet-101 state dict infers the ResNet-101 backbone")
    func inferR101() throws {
        let inferred = try ReferFormerConfiguration.inferred(fromShapes: officialShapes(blocks: [3, 4, 23, 3]))
        #expect(inferred.backbone == .resnet101, "\(inferred.backbone)")
    }

    @Test("the tiny golden weights infer the golden config.json")
    func inferTiny() throws {
        let weights = try StateDict(safetensorsAt: Fixtures.tiny.appendingPathComponent("weights.safetensors"))
        #expect(weights.keys.count == 359)
        let c = try ReferFormerConfiguration.inferred(fromShapes: weights.shapes)
        // Expected values: Tests/Fixtures/referformer-tiny/config.json ("model", "backbone", "text").
        let data = try Data(contentsOf: Fixtures.tiny.appendingPathComponent("config.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let model = json["model"] as? [String: Any] ?? [:]
        let decoded = try JSONDecoder().decode(ReferFormerConfiguration.self, from: JSONSerialization.data(withJSONObject: model))
        for (name, mine, theirs) in [("hidden_dim", c.hiddenDim, decoded.hiddenDim), ("nheads", c.nheads, decoded.nheads),
                                     ("dim_feedforward", c.dimFeedforward, decoded.dimFeedforward),
                                     ("enc_layers", c.encLayers, decoded.encLayers), ("dec_layers", c.decLayers, decoded.decLayers),
                                     ("num_queries", c.numQueries, decoded.numQueries),
                                     ("num_feature_levels", c.numFeatureLevels, decoded.numFeatureLevels),
                                     ("enc_n_points", c.encNPoints, decoded.encNPoints), ("dec_n_points", c.decNPoints, decoded.decNPoints),
                                     ("mask_dim", c.maskDim, decoded.maskDim), ("controller_layers", c.controllerLayers, decoded.controllerLayers),
                                     ("dynamic_mask_channels", c.dynamicMaskChannels, decoded.dynamicMaskChannels),
                                     ("controller_num_params", c.controllerParameterCount, model["controller_num_params"] as? Int ?? -1)] {
            #expect(mine == theirs, "\(name): inferred \(mine), config.json \(theirs)")
        }
        #expect(c.withBoxRefine && c.binary && c.relCoord && !c.twoStage)
        #expect(c.backbone == BackboneDescription(layers: [2, 1, 1, 1], widthPerGroup: 8), "\(c.backbone)")
        #expect(c.textEncoder == TextEncoderDescription(vocabSize: 1000, hiddenSize: 768, numHiddenLayers: 1, numAttentionHeads: 12,
                                                        intermediateSize: 128, maxPositionEmbeddings: 514, typeVocabSize: 1),
                "\(c.textEncoder)")
        // The explicit golden configuration (plus the backbone/text descriptions) agrees with the weights.
        var explicit = decoded
        explicit.backbone = c.backbone
        explicit.textEncoder = c.textEncoder
        #expect(try explicit.validated(againstShapes: weights.shapes) == c)
    }

    @Test("official option names decode with official defaults for absent keys")
    func codable() throws {
        let json = #"{"hidden_dim": 64, "enc_layers": 2, "with_box_refine": true, "rel_coord": true}"#
        let c = try JSONDecoder().decode(ReferFormerConfiguration.self, from: Data(json.utf8))
        #expect(c.hiddenDim == 64 && c.encLayers == 2)
        #expect(c.nheads == 8 && c.decLayers == 4 && c.dimFeedforward == 2048 && c.numQueries == 5 && c.numFeatureLevels == 4)
        #expect(c.encNPoints == 4 && c.decNPoints == 4 && c.maskDim == 256 && c.controllerLayers == 3 && c.dynamicMaskChannels == 8)
        let roundTrip = try JSONDecoder().decode(ReferFormerConfiguration.self, from: JSONEncoder().encode(c))
        #expect(roundTrip == c)
        let encoded = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        #expect(encoded.contains("\"dim_feedforward\"") && encoded.contains("\"enc_n_points\"") && encoded.contains("\"backbone\":\"resnet50\""), "\(encoded)")
    }

    @Test("the demo model's config.json (official options + export.py's training note) loads and matches its weights")
    func demoModelConfiguration() throws {
        let demo = Fixtures.packageRoot.appendingPathComponent("models/demo")
        let c = try ReferFormerConfiguration(contentsOf: demo.appendingPathComponent("config.json"))
        // Expected values: models/demo/config.json, written by tools/demo/export.py from train.py's MODEL.
        #expect(c.hiddenDim == 64 && c.encLayers == 2 && c.decLayers == 2 && c.numQueries == 5 && c.dimFeedforward == 128)
        #expect(c.backbone.layers == [1, 1, 1, 1] && c.backbone.widthPerGroup == 8)
        #expect(c.textEncoder.numHiddenLayers == 1 && c.textEncoder.intermediateSize == 256)
        let inferred = try ReferFormerConfiguration.inferred(
            fromShapes: try StateDict(safetensorsAt: demo.appendingPathComponent("weights.safetensors")).shapes)
        #expect(inferred.hiddenDim == c.hiddenDim && inferred.backbone == c.backbone && inferred.textEncoder.vocabSize == c.textEncoder.vocabSize)
        // "training" is provenance at the top level only; as an option anywhere else it is refused.
        let nested = Data(#"{"model": {"hidden_dim": 64, "training": {}}, "backbone": {"layers": [1, 1, 1, 1]}}"#.utf8)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nested-training-\(UUID()).json")
        try nested.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect {
            _ = try ReferFormerConfiguration(contentsOf: url)
        } throws: { "\($0)".contains("model.training") }
    }

    @Test("two_stage is rejected like the official code does")
    func rejectsTwoStage() throws {
        var c = ReferFormerConfiguration()
        c.twoStage = true
        #expect(throws: ReferFormerError.self) { try c.validate() }
        do {
            try c.validate()
        } catch {
            #expect(error.code == .configuration && error.message.contains("two_stage"), "\(error.message)")
        }
    }

    @Test("an explicit configuration that contradicts the weights names both values")
    func conflicts() throws {
        var c = ReferFormerConfiguration()
        c.hiddenDim = 128
        c.decLayers = 6
        c.encNPoints = 2
        do {
            _ = try c.validated(againstShapes: officialShapes())
            Issue.record("no error for a contradicting configuration")
        } catch {
            #expect(error.code == .configuration)
            #expect(error.message.contains("hidden_dim: configuration 128, weights 256"), "\(error.message)")
            #expect(error.message.contains("dec_layers: configuration 6, weights 4"), "\(error.message)")
            #expect(error.message.contains("enc_n_points × 2: configuration 128, weights 256"), "\(error.message)")
        }
        // The defaults agree with the official shapes.
        #expect(try ReferFormerConfiguration().validated(againstShapes: officialShapes()) == ReferFormerConfiguration())
    }

    @Test("inference reports a missing key instead of guessing")
    func missingKey() {
        var shapes = officialShapes()
        shapes["query_embed.weight"] = nil
        #expect(throws: ReferFormerError.self) { try ReferFormerConfiguration.inferred(fromShapes: shapes) }
    }
}

@Suite("Strict weight loading")
struct StrictLoadingTests {
    @Test("missing, mis-shaped and unexpected keys are reported together")
    func reportsAll() throws {
        let file = try SafeTensors(contentsOf: Fixtures.tiny.appendingPathComponent("weights.safetensors"))
        var pairs: [(String, Tensor)] = []
        for record in file.tensors where record.name != "transformer.level_embed" {
            var shape = record.shape
            if record.name == "query_embed.weight" { shape = [4, shape[1]] }
            pairs.append((record.name, Tensor.zeros(shape)))
        }
        pairs.append(("backbone.0.body.bn1.num_batches_tracked", Tensor.zeros([])))
        pairs.append(("something.unexpected", Tensor.zeros([1])))
        let weights = StateDict(pairs)
        var configuration = try ReferFormerConfiguration.inferred(fromShapes: try StateDict(safetensorsAt: Fixtures.tiny.appendingPathComponent("weights.safetensors")).shapes)
        configuration.numQueries = 5
        _ = try ReferFormerDetector(configuration: configuration, weights: weights)
        weights.allowUnused { ["text_encoder.", "resizer.", "pixel_decoder.", "controller."].contains(where: $0.hasPrefix) }
        do {
            try weights.finish()
            Issue.record("strict loading accepted broken weights")
        } catch {
            #expect(error.message.contains("missing keys (1)") && error.message.contains("transformer.level_embed"), "\(error.message)")
            #expect(error.message.contains("query_embed.weight: checkpoint [4, 64], model [5, 64]"), "\(error.message)")
            #expect(error.message.contains("unexpected keys (1)") && error.message.contains("something.unexpected"), "\(error.message)")
            #expect(!error.message.contains("num_batches_tracked") && !error.message.contains("transformer.decoder.bbox_embed"), "\(error.message)")
        }
    }
}

extension StrictLoadingTests {
    @Test("a checkpoint with only the transformer.decoder.bbox_embed twins loads and gives the same boxes")
    func twinsOnly() throws {
        let file = try SafeTensors(contentsOf: Fixtures.tiny.appendingPathComponent("weights.safetensors"))
        var pairs: [(String, Tensor)] = []
        for record in file.tensors where !record.name.hasPrefix("bbox_embed.") {
            pairs.append((record.name, Tensor(shape: record.shape, elements: try record.floats())))
        }
        let weights = StateDict(pairs)
        let configuration = try ReferFormerConfiguration.inferred(fromShapes: try StateDict(safetensorsAt: Fixtures.tiny.appendingPathComponent("weights.safetensors")).shapes)
        let model = try ReferFormerDetector(configuration: configuration, weights: weights)
        weights.allowUnused { ["text_encoder.", "resizer.", "pixel_decoder.", "controller."].contains(where: $0.hasPrefix) }
        try weights.finish()
        let golden = try GoldenCase("case_2")
        let sources = try (0..<4).map { try golden.tensor("fusion.out.l\($0)") }
        let layout = LevelLayout(shapes: sources.map { (h: $0.shape[2], w: $0.shape[3]) })
        let decoded = model.decode(EncoderOutput(sources: sources, layers: [try golden.tensor("encoder.memory")], layout: layout),
                                   text: try golden.text())
        expectClose(decoded.predBoxes.unsqueezed(0), try golden.tensor("output.pred_boxes"), tolerance: 1e-4, "twins-only pred_boxes")
    }
}

extension ConfigurationTests {
    @Test("the official argparse options of the tiny model decode; the substituted narrow backbone is a named conflict")
    func officialArgs() throws {
        let data = try Data(contentsOf: Fixtures.tiny.appendingPathComponent("config.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let args = try JSONSerialization.data(withJSONObject: json["official_args"] ?? [:])
        var c = try JSONDecoder().decode(ReferFormerConfiguration.self, from: args)
        #expect(c.hiddenDim == 64 && c.dimFeedforward == 128 && c.encLayers == 2 && c.decLayers == 2 && c.maskDim == 64)
        #expect(c.backbone == .resnet50 && c.withBoxRefine && c.binary && c.masks && !c.twoStage)
        let shapes = try StateDict(safetensorsAt: Fixtures.tiny.appendingPathComponent("weights.safetensors")).shapes
        do {
            _ = try c.validated(againstShapes: shapes)
            Issue.record("resnet50 accepted for the narrow tiny backbone")
        } catch {
            #expect(error.message.contains("backbone: configuration") && error.message.contains("layers: [3, 4, 6, 3]")
                    && error.message.contains("layers: [2, 1, 1, 1]"), "\(error.message)")
        }
        c.backbone = BackboneDescription(layers: [2, 1, 1, 1], widthPerGroup: 8)
        c.textEncoder = try ReferFormerConfiguration.inferred(fromShapes: shapes).textEncoder
        #expect(throws: Never.self) { try c.validated(againstShapes: shapes) }
        // A preset encodes as its official name, anything else as its layout.
        let encoded = String(decoding: try JSONEncoder().encode([BackboneDescription.resnet101, c.backbone]), as: UTF8.self)
        #expect(encoded.contains("\"resnet101\"") && encoded.contains("\"width_per_group\":8"), "\(encoded)")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(BackboneDescription.self, from: Data(#""swin_b""#.utf8)) }
    }
}
