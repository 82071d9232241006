// ReferFormer models/referformer.py, ReferFormer.forward (eval, masks=True, with_box_refine, binary):
// text encoder → backbone → projections + fusion → deformable transformer → heads → CrossModalFPN
// pixel decoder → dynamic mask head. Post-processing follows inference_ytvos.py (MaskPostProcessing).
import Foundation
import Tensor

/// The complete ReferFormer network, split into the stages a streaming caller reuses:
///
/// - `encodeText(ids:)` once per phrase (RoBERTa + FeatureResizer; cache it per phrase);
/// - `backbone(_:)` once per frame (text-independent: share it across phrases and windows);
/// - `forward(features:text:imageSize:)` once per (clip, phrase): projections, fusion, encoder and
///   decoder are per frame; the pixel decoder is the only stage that mixes the frames of a clip.
///
/// Thread-safety: immutable after `init`; every method may be called concurrently.
public struct ReferFormerModel: Sendable {
    public let configuration: ReferFormerConfiguration
    public let detector: ReferFormerDetector
    public let textEncoder: TextEncoder
    public let pixelDecoder: CrossModalFPNDecoder
    public let maskHead: DynamicMaskHead

    /// Builds the network from `weights`, strictly: every missing, mis-shaped or unexpected key is
    /// reported in one `.weights` error.
    public init(configuration c: ReferFormerConfiguration, weights: StateDict) throws(ReferFormerError) {
        configuration = c
        detector = try ReferFormerDetector(configuration: c, weights: weights)
        textEncoder = TextEncoder(weights: weights, roberta: c.textEncoder, hiddenDim: c.hiddenDim)
        pixelDecoder = CrossModalFPNDecoder(
            weights: weights, hiddenDim: c.hiddenDim, maskDim: c.maskDim, ffnDim: c.dimFeedforward,
            heads: ReferFormerConfiguration.fusionHeads, res2Channels: c.backbone.outChannels(stage: 0))
        maskHead = DynamicMaskHead(
            weights: weights, hiddenDim: c.hiddenDim, maskDim: c.maskDim, controllerLayers: c.controllerLayers,
            dynamicChannels: c.dynamicMaskChannels, relCoord: c.relCoord)
        // thop profiling leftovers are ignored by the official loader too (spec §8).
        weights.allowUnused { $0.hasSuffix("total_params") || $0.hasSuffix("total_ops") }
        try weights.finish()
    }

    /// Loads weights and builds the model; the architecture is inferred from the weights unless
    /// `configuration` is given (a conflict between the two is an error naming both values).
    public static func load(weights url: URL, configuration: ReferFormerConfiguration? = nil) throws(ReferFormerError) -> ReferFormerModel {
        let weights = try StateDict(contentsOf: url)
        let resolved = try ReferFormerConfiguration.resolve(explicit: configuration, shapes: weights.shapes)
        return try ReferFormerModel(configuration: resolved, weights: weights)
    }

    // MARK: Stages

    /// Encodes one phrase from its token ids (`<s>` … `</s>`).
    /// - Throws: `.input` if the ids do not fit the text encoder (vocabulary, positions).
    public func encodeText(ids: [Int]) throws(ReferFormerError) -> EncodedText {
        let d = configuration.textEncoder
        guard !ids.isEmpty else { throw ReferFormerError(.input, "the phrase has no tokens") }
        guard ids.count <= d.maxTokens else {
            throw ReferFormerError(.input, "the phrase has \(ids.count) tokens; the text encoder takes at most \(d.maxTokens): shorten it")
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= d.vocabSize }) {
            throw ReferFormerError(.input, "token id \(bad) is outside the text encoder's vocabulary of \(d.vocabSize): the tokenizer does not match the weights")
        }
        return textEncoder(ids: ids)
    }

    /// The ResNet backbone on normalised frames (T, 3, H, W). Text-independent: compute once per frame.
    public func backbone(_ frames: Tensor) -> BackboneFeatures { detector.backbone(frames) }

    /// The network's outputs for one clip and one phrase, with the official shapes (B = 1).
    public struct Output: Sendable {
        /// (1, T, Q, 1) class logits of the last decoder layer.
        public var predLogits: Tensor
        /// (1, T, Q, 4) boxes (cx, cy, w, h) in [0, 1] of the resized frame.
        public var predBoxes: Tensor
        /// (1, T, Q, H/4, W/4) mask logits at stride 4.
        public var predMasks: Tensor
        /// Per-layer results of the decoder (hs, references, sampling) for inspection and tracking.
        public var decoder: DecoderOutput
    }

    /// Runs everything after the backbone for one phrase.
    ///
    /// - Parameters:
    ///   - features: backbone outputs of the clip's T frames (from `backbone(_:)`, possibly cached).
    ///   - text: the phrase (from `encodeText(ids:)`, possibly cached).
    ///   - imageSize: (H, W) of the network input (the resized frames).
    ///   - record: receives intermediates under the golden names (`fusion.proj.l0`, `encoder.memory`,
    ///     `decoder.hs`, `pixel_decoder.mask_features`, `mask_head.params`, `aux_outputs.*`, …); nil
    ///     skips them (and the auxiliary masks, which the output does not need).
    /// - Throws: `.input` when the frames are too small for the pixel decoder.
    public func forward(
        features: BackboneFeatures, text encoded: EncodedText, imageSize: (height: Int, width: Int),
        record: ((String, Tensor) -> Void)? = nil
    ) throws(ReferFormerError) -> Output {
        try CrossModalFPNDecoder.validateFrameSize(height: imageSize.height, width: imageSize.width)
        let text = TextFeatures(
            wordFeatures: encoded.wordFeatures, sentenceFeature: encoded.sentenceFeature,
            paddingMask: encoded.paddingMask.contains(true) ? encoded.paddingMask : nil)

        // Position encodings, each computed once: the words' (fusion and pixel decoder), the levels'
        // (encoder; res3..res5 have the sizes of its first three levels) and res2's (pixel decoder).
        let textPosition = detector.textPositionEncoding(tokenCount: text.tokenCount)  // (L, 1, C)
        let projected = detector.project(features)
        let sources = detector.fuse(projected, text: text, textPosition: textPosition)
        let encoder = detector.encode(sources: sources)
        let decoder = detector.decode(encoder, text: text)

        let res2Position = detector.positionEncoding(height: features.res2.shape[2], width: features.res2.shape[3])
        let positions = [res2Position] + encoder.positions.prefix(3)
        let maskFeatures = pixelDecoder(
            res2: features.res2, memory: (0..<3).map { encoder.memoryMap(level: $0) }, positions: positions,
            words: text.wordFeatures.unsqueezed(0), textPaddingMask: text.paddingMask,
            textPosition: textPosition.permuted([1, 2, 0]), record: record)

        let last = configuration.decLayers - 1
        let parameters = maskHead.parameters(decoder.hs[last])
        let masks = maskHead.masks(
            maskFeatures: maskFeatures, parameters: parameters, references: decoder.interReferences[last], imageSize: imageSize)

        if let record {
            for (l, p) in projected.levels.enumerated() { record("fusion.proj.l\(l)", p) }
            for (l, s) in sources.enumerated() { record("fusion.out.l\(l)", s) }
            record("encoder.layer0", encoder.layers[0])
            record("encoder.memory", encoder.memory)
            record("decoder.init_reference", decoder.initReference)
            record("decoder.hs", Tensor.stack(decoder.hs, axis: 0))
            record("decoder.inter_references", Tensor.stack(decoder.interReferences, axis: 0))
            for i in 0..<decoder.hs.count {
                record("decoder.layer\(i).sampling_locations", decoder.samplingLocations[i])
                record("decoder.layer\(i).attention_weights", decoder.attentionWeights[i])
            }
            record("mask_head.params", parameters)
            if last > 0 {
                let aux = (0..<last).map {
                    maskHead(maskFeatures: maskFeatures, hs: decoder.hs[$0], references: decoder.interReferences[$0], imageSize: imageSize)
                }
                record("aux_outputs.pred_logits", Tensor.stack(decoder.logits[..<last].map { $0.unsqueezed(0) }, axis: 0))
                record("aux_outputs.pred_boxes", Tensor.stack(decoder.boxes[..<last].map { $0.unsqueezed(0) }, axis: 0))
                record("aux_outputs.pred_masks", Tensor.stack(aux.map { $0.unsqueezed(0) }, axis: 0))
            }
        }
        return Output(
            predLogits: decoder.predLogits.unsqueezed(0), predBoxes: decoder.predBoxes.unsqueezed(0),
            predMasks: masks.unsqueezed(0), decoder: decoder)
    }
}
