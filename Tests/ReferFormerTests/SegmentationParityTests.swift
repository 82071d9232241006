// Parity of the segmentation part (pixel decoder, dynamic mask head, post-processing) with the
// official ReferFormer, on the tiny golden cases (Tests/Fixtures/referformer-tiny, golden README §3).
// Every stage starts from the golden inputs of that stage, so an error is pinned to one stage.
import Foundation
import Testing
@testable import ReferFormer
import Tensor
import TestSupport

/// The tiny golden model's files (golden README §3).
enum Tiny {
    static let weights: Result<GoldenTensors, Error> = Result { try GoldenTensors("referformer-tiny/weights.safetensors") }

    static func golden(_ name: String) throws -> GoldenTensors { try GoldenTensors("referformer-tiny/\(name).safetensors") }

    /// (oh, ow) of the case (`original_size_hw` in its JSON).
    static func originalSize(_ name: String) throws -> (height: Int, width: Int) {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("referformer-tiny/\(name).json"))) as? [String: Any]
        guard let size = json?["original_size_hw"] as? [Int], size.count == 2 else {
            throw CocoaError(.coderReadCorrupt, userInfo: [NSLocalizedDescriptionKey: "\(name).json has no original_size_hw"])
        }
        return (size[0], size[1])
    }
}

extension GoldenTensors {
    func has(_ name: String) -> Bool { file[name] != nil }
}

/// The tiny model's segmentation layers, built strictly from the `pixel_decoder.*` / `controller.*` keys.
struct TinySegmentation {
    // config.json: hidden_dim 64, mask_dim 64, dim_feedforward 128, controller_layers 3,
    // dynamic_mask_channels 8, rel_coord true; backbone res2 has 256 channels.
    static let hiddenDim = 64, maskDim = 64, ffnDim = 128

    let decoder: CrossModalFPNDecoder
    let maskHead: DynamicMaskHead

    static func load() throws -> TinySegmentation {
        let weights = try Tiny.weights.get()
        let keys = weights.file.names.filter { $0.hasPrefix("pixel_decoder.") || $0.hasPrefix("controller.") }
        let stateDict = StateDict(try keys.map { ($0, try weights.tensor($0)) })
        let decoder = CrossModalFPNDecoder(weights: stateDict, hiddenDim: hiddenDim, maskDim: maskDim, ffnDim: ffnDim, res2Channels: 256)
        let maskHead = DynamicMaskHead(weights: stateDict, hiddenDim: hiddenDim, maskDim: maskDim,
                                       controllerLayers: 3, dynamicChannels: 8, relCoord: true)
        try stateDict.finish()  // every pixel_decoder.* and controller.* key used, none missing or mis-shaped
        return TinySegmentation(decoder: decoder, maskHead: maskHead)
    }
}

/// The inputs of the pixel decoder, from one golden case.
struct DecoderInputs {
    var res2: Tensor
    var memory: [Tensor]
    var positions: [Tensor]
    var words: Tensor
    var textPaddingMask: [Bool]
    var textPosition: Tensor

    init(_ golden: GoldenTensors) throws {
        res2 = try golden.tensor("backbone.res2")
        // encoder.memory (T, S, C), levels stride 8, 16, 32, 64 flattened row-major (spec §3.5/3.6).
        let memoryTokens = try golden.tensor("encoder.memory")
        let shapes = try golden.ints("encoder.spatial_shapes"), starts = try golden.ints("encoder.level_start_index")
        let (t, c) = (memoryTokens.shape[0], memoryTokens.shape[2])
        memory = (0..<3).map { l in
            let (h, w) = (shapes[2 * l], shapes[2 * l + 1])
            return memoryTokens.sliced(1, starts[l]..<(starts[l] + h * w)).reshaped([t, h, w, c]).permuted([0, 3, 1, 2])
        }
        let levels = [res2.shape] + memory.map(\.shape)
        positions = levels.map { Tensor.sinePositionEncoding2D(height: $0[2], width: $0[3], numPosFeats: c / 2) }
        words = try golden.tensor("text.word_features")
        textPaddingMask = try golden.ints("text.attention_mask").map { $0 != 1 }
        textPosition = try golden.tensor("text.pos")
    }
}

@Suite("Segmentation parity (official ReferFormer, tiny model)")
struct SegmentationParityTests {
    static let cases = ["case_1", "case_2"]

    /// max|value − golden| ≤ tolerance · RMS(golden) (golden README §6); set REFERSTREAM_PARITY_REPORT
    /// to print every figure.
    static func expectParity(_ name: String, _ value: Tensor, _ golden: Tensor, tolerance: Double) {
        let comparison = Comparison(value, golden, tolerance: tolerance)
        #expect(comparison.passed, "\(name) \(golden.shape): \(comparison)")
        if ProcessInfo.processInfo.environment["REFERSTREAM_PARITY_REPORT"] != nil { print("parity: \(name) \(golden.shape): \(comparison)") }
    }

    @Test("2-D sine position encodings used as decoder inputs equal the stored pos.*", arguments: cases)
    func positions(_ name: String) throws {
        let golden = try Tiny.golden(name)
        for level in ["res2", "res3", "res4", "res5", "extra"] where golden.has("pos.\(level)") {
            let g = try golden.tensor("pos.\(level)")
            let p = Tensor.sinePositionEncoding2D(height: g.shape[2], width: g.shape[3], numPosFeats: g.shape[1] / 2)
            Self.expectParity("pos.\(level)", p, g, tolerance: 1e-5)
        }
    }

    @Test("pixel decoder: every stage and mask_features", arguments: cases)
    func pixelDecoder(_ name: String) throws {
        let model = try TinySegmentation.load()
        let golden = try Tiny.golden(name)
        let inputs = try DecoderInputs(golden)
        var recorded: [String: Tensor] = [:]
        let maskFeatures = model.decoder(res2: inputs.res2, memory: inputs.memory, positions: inputs.positions, words: inputs.words,
                                         textPaddingMask: inputs.textPaddingMask, textPosition: inputs.textPosition) { recorded[$0] = $1 }
        for stage in 1...4 {
            for part in ["adapter", "vlb", "out"] {
                let key = "pixel_decoder.stage\(stage).\(part)"
                #expect(recorded[key] != nil, "\(key) not recorded")
                if golden.has(key), let value = recorded[key] {
                    Self.expectParity(key, value, try golden.tensor(key), tolerance: 3e-4)
                }
            }
        }
        Self.expectParity("pixel_decoder.mask_features", maskFeatures, try golden.tensor("pixel_decoder.mask_features"), tolerance: 3e-4)
        #expect(recorded["pixel_decoder.mask_features"]?.scalars == maskFeatures.scalars, "mask_features not recorded as returned")
    }

    @Test("controller parameters of the last decoder layer", arguments: cases)
    func controllerParameters(_ name: String) throws {
        let model = try TinySegmentation.load()
        let golden = try Tiny.golden(name)
        let hs = try golden.tensor("decoder.hs")
        let params = model.maskHead.parameters(hs.selecting(0, hs.shape[0] - 1))
        #expect(model.maskHead.weightCounts == [528, 64, 8] && model.maskHead.biasCounts == [8, 8, 1])
        Self.expectParity("mask_head.params", params, try golden.tensor("mask_head.params"), tolerance: 1e-4)
    }

    @Test("dynamic mask head: pred_masks and the aux masks from the golden mask features", arguments: cases)
    func predMasks(_ name: String) throws {
        let model = try TinySegmentation.load()
        let golden = try Tiny.golden(name)
        let size = try golden.ints("input.size")
        let hs = try golden.tensor("decoder.hs"), refs = try golden.tensor("decoder.inter_references")
        let features = try golden.tensor("pixel_decoder.mask_features")
        let layers = hs.shape[0]
        let masks = model.maskHead(maskFeatures: features, hs: hs.selecting(0, layers - 1), references: refs.selecting(0, layers - 1),
                                   imageSize: (size[0], size[1]))
        Self.expectParity("output.pred_masks", masks.unsqueezed(0), try golden.tensor("output.pred_masks"), tolerance: 3e-4)
        // pred_boxes of the last layer are the same reference centres (bit-identical upstream).
        let fromBoxes = model.maskHead(maskFeatures: features, hs: hs.selecting(0, layers - 1),
                                       references: try golden.tensor("output.pred_boxes").squeezed(0), imageSize: (size[0], size[1]))
        Self.expectParity("output.pred_masks (from pred_boxes)", fromBoxes.unsqueezed(0), try golden.tensor("output.pred_masks"), tolerance: 3e-4)
        let aux = try golden.tensor("aux_outputs.pred_masks")
        for layer in 0..<(layers - 1) {
            let m = model.maskHead(maskFeatures: features, hs: hs.selecting(0, layer), references: refs.selecting(0, layer),
                                   imageSize: (size[0], size[1]))
            Self.expectParity("aux_outputs.pred_masks[\(layer)]", m, aux.selecting(0, layer).squeezed(0), tolerance: 3e-4)
        }
    }

    /// Checks the post-processing outputs against the golden ones (README §6 rules).
    static func expectPost(_ result: ClipMasks, _ golden: GoldenTensors) throws {
        Self.expectParity("post.scores", Tensor(shape: [result.scores.count], elements: result.scores), try golden.tensor("post.scores"), tolerance: 1e-4)
        let index = try golden.ints("post.query_index")[0]
        #expect(result.queryIndex == index, "post.query_index \(result.queryIndex), golden \(index)")
        let goldenLogits = try golden.tensor("post.mask_logits")
        Self.expectParity("post.mask_logits", result.maskLogits, goldenLogits, tolerance: 3e-4)
        let mask = result.binaryMasks(), goldenMask = try golden.ints("post.mask"), g = goldenLogits.scalars
        var differing: [Int] = [], flipped = 0
        for i in 0..<goldenMask.count where Int(mask[i]) != goldenMask[i] {
            if abs(g[i]) > 1e-3 { differing.append(i) } else { flipped += 1 }
        }
        #expect(differing.isEmpty, "post.mask differs at \(differing.count) pixels with |logit| > 1e-3, first flat indices \(differing.prefix(5))")
        #expect(flipped <= 2, "\(flipped) pixels within 1e-3 of the threshold flipped")
        let probabilities = result.probabilities.scalars
        #expect(zip(probabilities, mask).allSatisfy { ($0 > 0.5) == ($1 == 1) }, "probabilities disagree with the binary mask")
    }

    @Test("post-processing from the golden network outputs", arguments: cases)
    func postProcessing(_ name: String) throws {
        let golden = try Tiny.golden(name)
        let original = try Tiny.originalSize(name)
        let result = MaskPostProcessing.process(predLogits: try golden.tensor("output.pred_logits"), predMasks: try golden.tensor("output.pred_masks"),
                                                originalSize: original)
        try Self.expectPost(result, golden)
    }

    @Test("chained: golden encoder/decoder outputs → pixel decoder → mask head → post-processing", arguments: cases)
    func chained(_ name: String) throws {
        let model = try TinySegmentation.load()
        let golden = try Tiny.golden(name)
        let inputs = try DecoderInputs(golden)
        let size = try golden.ints("input.size")
        let features = model.decoder(res2: inputs.res2, memory: inputs.memory, positions: inputs.positions, words: inputs.words,
                                     textPaddingMask: inputs.textPaddingMask, textPosition: inputs.textPosition)
        let hs = try golden.tensor("decoder.hs"), boxes = try golden.tensor("output.pred_boxes").squeezed(0)
        let masks = model.maskHead(maskFeatures: features, hs: hs.selecting(0, hs.shape[0] - 1), references: boxes, imageSize: (size[0], size[1]))
        Self.expectParity("output.pred_masks (chained)", masks.unsqueezed(0), try golden.tensor("output.pred_masks"), tolerance: 3e-4)
        let original = try Tiny.originalSize(name)
        let result = MaskPostProcessing.process(predLogits: try golden.tensor("output.pred_logits"), predMasks: masks, originalSize: original)
        try Self.expectPost(result, golden)
    }
}
