// ReferFormer models/referformer.py, ReferFormer.forward_text: RoBERTa → FeatureResizer for the word
// features (every token, `<s>`/`</s>` included) and, from the pooler output, the sentence feature.
import Tensor

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
