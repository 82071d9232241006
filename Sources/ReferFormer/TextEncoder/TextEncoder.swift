// ReferFormer models/referformer.py, ReferFormer.forward_text: RoBERTa → FeatureResizer for the word
// features (every token, `<s>`/`</s>` included) and, from the pooler output, the sentence feature.
import Tensor

/// What the rest of the network needs from one phrase. Computed once per phrase and reused for every
/// frame and window (the daemon caches it per phrase).
public struct EncodedText: Sendable {
    /// Token ids, `<s>` … `</s>`.
    public var ids: [Int]
    /// (1, L, C): resized word features.
    public var wordFeatures: Tensor
    /// (1, C): resized sentence feature (the decoder's query content).
    public var sentenceFeature: Tensor
    /// L flags, true at padding (the official `text_attention_mask`: attention_mask != 1).
    public var paddingMask: [Bool]
    /// The RoBERTa outputs before resizing (for parity checks and inspection).
    public var roberta: RobertaModel.Output
}

/// RoBERTa + FeatureResizer, with the official key names (`text_encoder.*`, `resizer.*`).
public struct TextEncoder: Sendable {
    public let roberta: RobertaModel
    public let resizer: FeatureResizer

    public init(weights: StateDict, roberta configuration: TextEncoderDescription, hiddenDim: Int) {
        roberta = RobertaModel(weights: weights, configuration: configuration)
        resizer = FeatureResizer(weights: weights, inFeatures: configuration.hiddenSize, outFeatures: hiddenDim)
    }

    /// Encodes one phrase from its token ids (one caption: no padding).
    public func callAsFunction(ids: [Int], attentionMask: [Bool]? = nil) -> EncodedText {
        let mask = attentionMask ?? [Bool](repeating: true, count: ids.count)
        let out = roberta(ids: ids, attentionMask: mask)
        return EncodedText(
            ids: ids,
            wordFeatures: resizer(out.lastHiddenState),
            sentenceFeature: resizer(out.poolerOutput),
            paddingMask: mask.map { !$0 },
            roberta: out)
    }
}
