// ReferFormer models/referformer.py forward: text_features / text_sentence_features as the transformer takes them.
import Tensor

/// The text features the transformer consumes (outputs of RoBERTa + FeatureResizer).
public struct TextFeatures: Sendable {
    /// (L, C) word features, `<s>` and `</s>` included.
    public var wordFeatures: Tensor
    /// (C) sentence feature (resized pooler output).
    public var sentenceFeature: Tensor
    /// L entries, true = padding (never with one caption; kept for the official interface).
    public var paddingMask: [Bool]?

    public init(wordFeatures: Tensor, sentenceFeature: Tensor, paddingMask: [Bool]? = nil) {
        precondition(wordFeatures.rank == 2 || (wordFeatures.rank == 3 && wordFeatures.shape[0] == 1),
                     "word features must be (L, C) or (1, L, C), got \(wordFeatures.shape)")
        self.wordFeatures = wordFeatures.rank == 3 ? wordFeatures.squeezed(0) : wordFeatures
        self.sentenceFeature = sentenceFeature.reshaped([-1])
        self.paddingMask = paddingMask
    }

    public var tokenCount: Int { wordFeatures.shape[0] }
}
