// ReferFormer models/referformer.py, forward_text: what the network keeps of one phrase.
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
