/// The result of encoding one phrase: what `RobertaTokenizerFast(...)([text])` returns as
/// `input_ids` and `attention_mask`.
public struct Encoding: Sendable, Hashable {
    /// Token ids, `<s>` and `</s>` included (and `<pad>` after them when padded in a batch).
    public var ids: [Int32]
    /// 1 for every real token, 0 for padding.
    public var attentionMask: [Int32]
    /// Content tokens dropped from the end by truncation (0 when nothing was dropped).
    public var truncatedTokenCount: Int

    public init(ids: [Int32], attentionMask: [Int32], truncatedTokenCount: Int = 0) {
        precondition(ids.count == attentionMask.count, "ids and attention mask must have the same length")
        self.ids = ids
        self.attentionMask = attentionMask
        self.truncatedTokenCount = truncatedTokenCount
    }

    /// The number of positions, padding included.
    public var count: Int { ids.count }
}
