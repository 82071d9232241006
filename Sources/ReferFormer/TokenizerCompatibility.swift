// Where the tokenizer meets the model: the ids RobertaTokenizer produces index the text encoder's word
// embedding (`text_encoder.embeddings.word_embeddings.weight`, vocab_size rows). The official code
// pairs roberta-base's tokenizer files with roberta-base's weights; a tokenizer from elsewhere (another
// vocabulary, a test vocabulary) gives ids that mean other words, or that have no row at all.
import Tokenizer

/// How a tokenizer's ids fit a text encoder's word embedding.
public struct TokenizerCompatibility: Sendable, Equatable {
    /// One more than the highest id the tokenizer produces.
    public var tokenizerIDs: Int
    /// Rows of the word embedding (`vocab_size`, the first dimension of
    /// `text_encoder.embeddings.word_embeddings.weight`).
    public var embeddingRows: Int

    public init(tokenizer: RobertaTokenizer, embeddingRows: Int) {
        self.tokenizerIDs = tokenizer.idCount
        self.embeddingRows = embeddingRows
    }

    /// Throws when the tokenizer can produce ids beyond the embedding (they would index past it).
    /// - Returns: `self`, whose `warning` may still be set.
    /// - Throws: `.configuration` naming both sizes and what to do.
    public func checked() throws(ReferFormerError) -> TokenizerCompatibility {
        guard tokenizerIDs <= embeddingRows else {
            throw ReferFormerError(.configuration,
                "the tokenizer has \(tokenizerIDs) ids but the model's text embedding has only \(embeddingRows) rows, "
                + "so ids \(embeddingRows)…\(tokenizerIDs - 1) have no embedding: use the tokenizer files the weights were "
                + "trained with (roberta-base's vocab.json + merges.txt for the official models)")
        }
        return self
    }

    /// A warning when the sizes differ although every id has a row (the vocabularies are not the same,
    /// so ids likely mean other words than the model was trained with); `nil` when the sizes agree.
    public var warning: String? {
        guard tokenizerIDs != embeddingRows else { return nil }
        return "the tokenizer has \(tokenizerIDs) ids but the model's text embedding has \(embeddingRows) rows: "
            + "they are probably not the same vocabulary (use the tokenizer files the weights were trained with, "
            + "roberta-base's vocab.json + merges.txt for the official models)"
    }
}

extension TextEncoderDescription {
    /// Checks that every id `tokenizer` can produce has a row in this encoder's word embedding
    /// (`TokenizerCompatibility.checked()`).
    public func checkCompatibility(with tokenizer: RobertaTokenizer) throws(ReferFormerError) -> TokenizerCompatibility {
        try TokenizerCompatibility(tokenizer: tokenizer, embeddingRows: vocabSize).checked()
    }
}

extension ReferFormerModel {
    /// `TextEncoderDescription.checkCompatibility(with:)` for this model's text encoder: call it once
    /// after loading the model and the tokenizer; show the returned `warning`, if any.
    public func checkTokenizer(_ tokenizer: RobertaTokenizer) throws(ReferFormerError) -> TokenizerCompatibility {
        try configuration.textEncoder.checkCompatibility(with: tokenizer)
    }

    /// The token ids (`<s>` … `</s>`) of `text` for this model's text encoder.
    ///
    /// - Throws: `.input` when the phrase needs more positions than the encoder has (the message says
    ///   how many tokens it gives and the limit).
    public func tokenIDs(_ text: String, tokenizer: RobertaTokenizer) throws(ReferFormerError) -> [Int] {
        let limit = configuration.textEncoder.maxTokens
        let ids: [Int32]
        do {
            ids = try tokenizer.encode(text, maxLength: nil).ids
        } catch {
            throw ReferFormerError(.input, "the phrase cannot be tokenised: \(error)")
        }
        guard ids.count <= limit else {
            throw ReferFormerError(.input, "the phrase gives \(ids.count) tokens (with <s> and </s>); the text encoder takes at most \(limit)")
        }
        return ids.map(Int.init)
    }
}
