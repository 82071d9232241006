import Checkpoint
import Foundation
import Tensor
import Testing
import TestSupport

@testable import ReferFormer

/// The official tiny model with a Swin / Video-Swin backbone (golden README §8): weights = the
/// referformer-tiny state dict without its `backbone.` keys + the folder's overlay, architecture
/// inferred from the shapes alone, and every stored tensor of both cases compared.
enum SwinFixture: String, CaseIterable, Sendable {
    case swin = "referformer-swin-tiny"
    case videoSwin = "referformer-videoswin-tiny"

    /// The merged official state dict (README §8 `weights.rule`), as (key, tensor) pairs.
    func statePairs() throws -> [(String, Tensor)] {
        let base = try SafeTensors(contentsOf: Fixtures.url("referformer-tiny/weights.safetensors"))
        let overlay = try SafeTensors(contentsOf: Fixtures.url("\(rawValue)/weights_overlay.safetensors"))
        var pairs: [(String, Tensor)] = []
        for record in base.tensors where !record.name.hasPrefix("backbone.") {
            pairs.append((record.name, try StateDict.tensor(from: record)))
        }
        for record in overlay.tensors { pairs.append((record.name, try StateDict.tensor(from: record))) }
        return pairs
    }

    func load() throws -> ReferFormerModel {
        let weights = StateDict(try statePairs())
        let configuration = try ReferFormerConfiguration.resolve(explicit: nil, shapes: weights.shapes)
        return try ReferFormerModel(configuration: configuration, weights: weights)
    }

    /// The official keyword arguments of `config.json` → `backbone.config`, as a description.
    func officialBackbone() throws -> SwinDescription {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("\(rawValue)/config.json"))) as? [String: Any]
        let backbone = try #require(json?["backbone"] as? [String: Any])
        let config = try #require(backbone["config"] as? [String: Any])
        let window = config["window_size"]
        return SwinDescription(
            video: self == .videoSwin, embedDim: try #require(config["embed_dim"] as? Int),
            depths: try #require(config["depths"] as? [Int]), numHeads: try #require(config["num_heads"] as? [Int]),
            windowSize: try (window as? [Int]) ?? [#require(window as? Int)],
            mlpRatio: try #require(config["mlp_ratio"] as? Double), patchNorm: try #require(config["patch_norm"] as? Bool))
    }
}

@Suite("Swin and Video-Swin backbones (official referformer-swin-tiny / referformer-videoswin-tiny)")
struct SwinParityTests {
    static let models: [SwinFixture: Result<ReferFormerModel, any Error>] = Dictionary(uniqueKeysWithValues: SwinFixture.allCases.map { f in
        (f, Result { try f.load() })
    })

    static func model(_ f: SwinFixture) throws -> ReferFormerModel { try models[f]!.get() }

    /// README §6 / §8 tolerances (× RMS of the golden tensor).
    static func tolerance(_ name: String) -> Double {
        if name.hasPrefix("pos.") || name == "decoder.init_reference" || name == "encoder.reference_points" { return 1e-5 }
        if name.hasPrefix("text.") || name.hasPrefix("decoder.") || name.hasPrefix("mask_head.")
            || name.hasSuffix("pred_logits") || name.hasSuffix("pred_boxes") || name == "post.scores"
            || name == "output.reference_points" { return 1e-4 }
        return 3e-4  // every backbone.* name, fusion, encoder, pixel decoder, masks
    }

    @Test("the architecture is inferred from the weights alone and equals the official keyword arguments", arguments: SwinFixture.allCases)
    func inference(_ f: SwinFixture) throws {
        let c = try Self.model(f).configuration
        let expected = try f.officialBackbone()
        #expect(c.backbone.swin == expected, "\(c.backbone)")
        #expect(c.backbone.outChannels(stage: 3) == 256 && c.hiddenDim == 64 && c.encLayers == 2)
        #expect(c.backboneMixesFrames == (f == .videoSwin))
        #expect(try Self.model(f).backboneMixesFrames == (f == .videoSwin))
        // The golden config.json (reference format) decodes to the same configuration.
        let fromFile = try ReferFormerConfiguration(contentsOf: Fixtures.url("\(f.rawValue)/config.json"))
        #expect(fromFile.backbone == c.backbone, "\(fromFile.backbone)")
        #expect(try fromFile.validated(againstShapes: StateDict(try f.statePairs()).shapes) == fromFile)
    }

    @Test("every stored tensor matches, from frames and token ids to masks",
          arguments: [(SwinFixture.swin, "case_1"), (.swin, "case_2"), (.videoSwin, "case_1"), (.videoSwin, "case_2")])
    func parity(_ f: SwinFixture, _ name: String) throws {
        let model = try Self.model(f)
        let golden = try GoldenTensors("\(f.rawValue)/\(name).safetensors")
        let frames = try golden.tensor("input.frames")
        let size = try golden.ints("input.size")
        var produced: [String: Tensor] = [:]
        let text = try model.encodeText(ids: try golden.ints("text.input_ids"))
        produced["text.word_features"] = text.wordFeatures
        produced["text.sentence_feature"] = text.sentenceFeature
        let features = model.backbone(frames) { produced[$0] = $1 }
        for (i, level) in features.levels.enumerated() { produced["backbone.res\(i + 2)"] = level }
        let output = try model.forward(features: features, text: text, imageSize: (size[0], size[1])) { produced[$0] = $1 }
        produced["output.pred_logits"] = output.predLogits
        produced["output.pred_boxes"] = output.predBoxes
        produced["output.pred_masks"] = output.predMasks
        let goldenLogits = try golden.shape("post.mask_logits")
        let post = MaskPostProcessing.process(predLogits: output.predLogits, predMasks: output.predMasks,
                                              originalSize: (goldenLogits[1], goldenLogits[2]))
        produced["post.scores"] = Tensor(shape: [post.scores.count], elements: post.scores)
        produced["post.mask_logits"] = post.maskLogits

        var compared: [String] = []
        for (key, actual) in produced.sorted(by: { $0.key < $1.key }) {
            guard (try? golden.shape(key)) != nil else { continue }
            expectClose(actual, try golden.tensor(key), tolerance: Self.tolerance(key), "\(f.rawValue) \(name) \(key)")
            compared.append(key)
        }
        // Every backbone intermediate of §8 is among them.
        var backbone = ["backbone.patch_embed", "backbone.stage0.block0"] + (0..<3).map { "backbone.stage\($0).merged" }
            + (2...5).map { "backbone.res\($0)" }
        if f == .swin { backbone += (0..<4).map { "backbone.stage\($0).blocks" } }
        for key in backbone { #expect(compared.contains(key), "\(f.rawValue) \(name): \(key) not compared") }
        #expect(compared.count >= 40, "\(f.rawValue) \(name): only \(compared.count) tensors compared")

        try expectGoldenMasks(post, golden, "\(f.rawValue) \(name)")
    }

    @Test("window plans follow the official execution recorded in backbone_windows",
          arguments: [(SwinFixture.swin, "case_1"), (.swin, "case_2"), (.videoSwin, "case_1"), (.videoSwin, "case_2")])
    func windows(_ f: SwinFixture, _ name: String) throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("\(f.rawValue)/\(name).json"))) as? [String: Any]
        let stages = try #require(json?["backbone_windows"] as? [[String: Any]])
        #expect(stages.count == 4)
        let t = try #require(json?["T"] as? Int)
        for stage in stages {
            let index = try #require(stage["stage"] as? Int)
            if f == .swin {
                // 2-D: per frame, window 7 always, shift 3 on odd blocks.
                let map = try #require(stage["map_hw"] as? [Int])
                #expect(stage["window"] as? [Int] == [7, 7] && stage["shift_odd_blocks"] as? [Int] == [3, 3])
                let plan = WindowPlan(dims: [t, map[0], map[1]], window: [1, 7, 7], shift: [0, 3, 3])
                #expect(Array(plan.padded[1...]) == (stage["padded_hw"] as? [Int]), "stage \(index)")
                #expect(plan.windowCount == t * (try #require(stage["windows_per_frame"] as? Int)), "stage \(index)")
                #expect((plan.mask != nil) == (stage["shifted_block_uses_mask"] as? Bool) && plan.tokens == 49)
            } else {
                let map = try #require(stage["map_dhw"] as? [Int])
                let (window, shift) = VideoSwinTransformerBackbone.effectiveWindow(dims: map, window: [4, 7, 7], shift: [2, 3, 3])
                #expect(window == (stage["window"] as? [Int]), "stage \(index)")
                #expect(shift == (stage["shift_odd_blocks"] as? [Int]), "stage \(index)")
                let plan = WindowPlan(dims: map, window: window, shift: shift)
                #expect(plan.padded == (stage["padded_dhw"] as? [Int]), "stage \(index)")
                #expect(plan.windowCount == (stage["windows"] as? Int) && plan.tokens == (stage["tokens_per_window"] as? Int), "stage \(index)")
                #expect((plan.mask != nil) == (stage["shifted_block_uses_mask"] as? Bool), "stage \(index)")
            }
        }
    }

    @Test("a relative_position_index that is not the official formula is reported, naming the key")
    func corruptIndex() throws {
        var pairs = try SwinFixture.swin.statePairs()
        let key = "backbone.0.body.layers.1.blocks.0.attn.relative_position_index"
        let i = try #require(pairs.firstIndex { $0.0 == key })
        var values = pairs[i].1.scalars
        values.swapAt(0, 1)
        pairs[i].1 = Tensor(shape: pairs[i].1.shape, elements: values)
        let weights = StateDict(pairs)
        let configuration = try ReferFormerConfiguration.resolve(explicit: nil, shapes: weights.shapes)
        let error = try #require(throws: ReferFormerError.self) { try ReferFormerModel(configuration: configuration, weights: weights) }
        #expect(error.code == .weights && error.message.contains(key), "\(error)")
    }

    @Test("Video-Swin mixes the frames of a clip; Swin is per frame")
    func perClip() throws {
        for f in SwinFixture.allCases {
            let model = try Self.model(f)
            let frames = try GoldenTensors("\(f.rawValue)/case_2.safetensors").tensor("input.frames")
            let whole = model.backbone(frames)
            let alone = model.backbone(frames.sliced(0, 0..<1).contiguous())
            let c = Comparison(alone.res3, whole.res3.sliced(0, 0..<1).contiguous(), tolerance: 1e-4)
            // Swin: frame 0 alone equals frame 0 of the clip; Video-Swin: it does not (README §8: 1.2–2.4 × RMS).
            #expect(c.passed == (f == .swin), "\(f.rawValue): \(c)")
        }
    }
}

/// The chosen query and the binary masks equal the golden ones, wherever the logit is not within 1e-3
/// of the threshold (golden README §6).
func expectGoldenMasks(_ post: ClipMasks, _ golden: GoldenTensors, _ label: String) throws {
    #expect(post.queryIndex == (try golden.ints("post.query_index"))[0], "\(label): query")
    let goldenMask = try golden.ints("post.mask")
    let logits = post.maskLogits.scalars
    let mask = post.binaryMasks()
    var differing = 0
    for i in 0..<goldenMask.count where abs(logits[i]) > 1e-3 && Int(mask[i]) != goldenMask[i] { differing += 1 }
    #expect(mask.count == goldenMask.count && differing == 0, "\(label): \(differing) mask pixels differ")
}
