import ReferFormer
import Tensor
import Tokenizer

/// ReferFormer behind the `TrackingModel` seam.
///
/// Per frame: pre-processing (Pillow bilinear to the shorter side, ImageNet normalisation) and the
/// ResNet backbone, kept whole so that a phrase added later can still run on the window's frames. Per
/// (frame, phrase): input projections, early fusion, deformable encoder and decoder with the heads,
/// batched over the frames that lack them, keeping the encoder memory and the last decoder layer.
/// Per window: the pixel decoder and the dynamic mask head on all frames — the same calls, in the same
/// order and with the same batching as `ReferFormerModel.forward` when a window's frames are all new,
/// so the whole video as one window gives exactly the official masks. In incremental mode instead,
/// once per (frame, phrase) on that frame alone (`CrossModalFPNDecoder.incremental`).
public struct ReferFormerTrackingModel: TrackingModel, Sendable {
    public let model: ReferFormerModel
    public let tokenizer: RobertaTokenizer
    public let shorterSide: Int
    private let preprocessor: FramePreprocessor?

    public init(model: ReferFormerModel, tokenizer: RobertaTokenizer, shorterSide: Int) {
        self.model = model
        self.tokenizer = tokenizer
        self.shorterSide = shorterSide
        preprocessor = try? FramePreprocessor(options: .init(shorterSide: shorterSide))
    }

    /// ResNet and Swin are per frame (features cached across windows); Video-Swin mixes the frames of
    /// the clip it sees, so its features are recomputed on every window's frames.
    public var backboneScope: BackboneScope { model.backboneMixesFrames ? .perClip : .perFrame }

    public struct Text: Sendable {
        public var encoded: EncodedText
        public var features: TextFeatures
    }

    public struct Features: Sendable {
        /// res2…res5 of one frame, (1, C_l, h_l, w_l).
        public var backbone: BackboneFeatures
        /// The network input's (height, width).
        public var inputSize: (height: Int, width: Int)

        public init(backbone: BackboneFeatures, inputSize: (height: Int, width: Int)) {
            self.backbone = backbone
            self.inputSize = inputSize
        }
    }

    public struct Detections: Sendable {
        /// Encoder memory (1, S, C).
        public var memory: Tensor
        public var layout: LevelLayout
        /// Last decoder layer: hs (1, Q, C), refined boxes (1, Q, 4), class logits (1, Q, K).
        public var hs: Tensor
        public var references: Tensor
        public var logits: Tensor
    }

    public func encode(text: String) throws(TrackingError) -> Text {
        let encoded: EncodedText
        do {
            encoded = try model.encodeText(ids: model.tokenIDs(text, tokenizer: tokenizer))
        } catch {
            throw TrackingError(.phrase, "the phrase \"\(text.prefix(60))\" cannot be used: \(error.message)", underlying: error)
        }
        let features = TextFeatures(
            wordFeatures: encoded.wordFeatures, sentenceFeature: encoded.sentenceFeature,
            paddingMask: encoded.paddingMask.contains(true) ? encoded.paddingMask : nil)
        return Text(encoded: encoded, features: features)
    }

    public func features(of frames: [StreamFrame]) throws(TrackingError) -> [Features] {
        guard let preprocessor else {
            throw TrackingError(.configuration, "the shorter side must be positive, got \(shorterSide)")
        }
        let inputs = try frames.map { frame throws(TrackingError) -> (input: Tensor, size: (height: Int, width: Int)) in
            let size = FramePreprocessor.modelInputSize(originalHeight: frame.height, originalWidth: frame.width, shorterSide: shorterSide)
            do {
                try CrossModalFPNDecoder.validateFrameSize(height: size.height, width: size.width)
            } catch {
                throw TrackingError(.frame, "frame \(frame.index) (\(frame.width)×\(frame.height)): \(error)", underlying: error)
            }
            let input: Tensor
            do {
                input = try preprocessor.preprocess(frame.pixels, height: frame.height, width: frame.width)
            } catch {
                throw TrackingError(.frame, "cannot pre-process frame \(frame.index): \(error)", underlying: error)
            }
            return (input, size)
        }
        switch backboneScope {
        case .perFrame:
            return inputs.map { Features(backbone: model.backbone($0.input.unsqueezed(0)), inputSize: $0.size) }
        case .perClip:
            // One call on the whole clip (T, 3, H, W): a frame's features depend on the others here.
            guard let first = inputs.first else { return [] }
            let clip = model.backbone(Tensor.stack(inputs.map(\.input), axis: 0))
            return inputs.indices.map { Features(backbone: clip.frames($0..<($0 + 1)), inputSize: first.size) }
        }
    }

    public func detect(_ features: [Features], text: Text) throws(TrackingError) -> [Detections] {
        guard !features.isEmpty else { return [] }
        let batch = BackboneFeatures.concatenating(features.map(\.backbone))
        let detector = model.detector
        let encoded = detector.encode(sources: detector.fuse(detector.project(batch), text: text.features))
        let decoded = detector.decode(encoded, text: text.features)
        let last = decoded.hs.count - 1
        return features.indices.map { t in
            Detections(memory: encoded.memory.sliced(0, t..<(t + 1)), layout: encoded.layout,
                       hs: decoded.hs[last].sliced(0, t..<(t + 1)), references: decoded.interReferences[last].sliced(0, t..<(t + 1)),
                       logits: decoded.predLogits.sliced(0, t..<(t + 1)))
        }
    }

    public func queries(_ detections: Detections) -> FrameQueries {
        FrameQueries(logits: detections.logits.squeezed(0), boxes: detections.references.squeezed(0))
    }

    public func maskLogits(_ features: [Features], detections: [Detections], text: Text) throws(TrackingError) -> Tensor {
        precondition(!features.isEmpty && features.count == detections.count, "one detection per frame")
        let batch = BackboneFeatures.concatenating(features.map(\.backbone))
        let inputs = pixelDecoderInputs(batch, memory: Self.join(detections.map(\.memory)), layout: detections[0].layout, text: text)
        let maskFeatures = model.pixelDecoder(
            res2: batch.res2, memory: inputs.memory, positions: inputs.positions, words: inputs.words,
            textPaddingMask: text.features.paddingMask, textPosition: inputs.textPosition)
        let parameters = model.maskHead.parameters(Self.join(detections.map(\.hs)))
        return model.maskHead.masks(maskFeatures: maskFeatures, parameters: parameters,
                                    references: Self.join(detections.map(\.references)), imageSize: features[0].inputSize)
    }

    public typealias PixelState = PixelDecoderFrameState

    /// `CrossModalFPNDecoder.incremental` and the mask head on one frame.
    public func incrementalMaskLogits(_ features: Features, detections: Detections, text: Text,
                                      earlier: [PixelDecoderFrameState]) throws(TrackingError) -> (maskLogits: Tensor, state: PixelDecoderFrameState) {
        let inputs = pixelDecoderInputs(features.backbone, memory: detections.memory, layout: detections.layout, text: text)
        let step = model.pixelDecoder.incremental(
            res2: features.backbone.res2, memory: inputs.memory, positions: inputs.positions, words: inputs.words,
            textPaddingMask: text.features.paddingMask, textPosition: inputs.textPosition, earlier: earlier)
        let logits = model.maskHead.masks(maskFeatures: step.maskFeatures, parameters: model.maskHead.parameters(detections.hs),
                                          references: detections.references, imageSize: features.inputSize)
        return (logits, step.state)
    }

    /// The pixel decoder's inputs besides res2: encoder memory maps (strides 8, 16, 32), the backbone
    /// levels' sine positions, the words (1, L, C) and the text positions.
    private func pixelDecoderInputs(_ backbone: BackboneFeatures, memory: Tensor, layout: LevelLayout, text: Text)
        -> (memory: [Tensor], positions: [Tensor], words: Tensor, textPosition: Tensor) {
        let encoder = EncoderOutput(sources: [], layers: [memory], layout: layout)
        let positions = backbone.levels.map { model.detector.positionEncoding(height: $0.shape[2], width: $0.shape[3]) }
        let words = text.features
        return ((0..<3).map { encoder.memoryMap(level: $0) }, positions, words.wordFeatures.unsqueezed(0),
                Tensor.sinePositionEncoding1D(length: words.tokenCount, numPosFeats: model.configuration.hiddenDim))
    }

    /// Per-frame slices back into one batch (a copy of the same values, so a window of new frames
    /// computes exactly as one `forward` on them).
    static func join(_ parts: [Tensor]) -> Tensor {
        parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
    }
}
