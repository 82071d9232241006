// HuggingFace transformers RobertaConfig (the fields the RoBERTa encoder reads), with HF's key names.

/// Shape of the RoBERTa text encoder (`RobertaConfig`). Defaults are `roberta-base`'s.
public struct RobertaConfiguration: Codable, Sendable, Equatable {
    public var vocabSize = 50265
    public var hiddenSize = 768
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var intermediateSize = 3072
    public var maxPositionEmbeddings = 514
    public var typeVocabSize = 1
    public var layerNormEps: Float = 1e-5
    public var padTokenId = 1

    public init() {}

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps"
        case padTokenId = "pad_token_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RobertaConfiguration()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? d.typeVocabSize
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? d.padTokenId
    }

    /// The longest token sequence (with `<s>`/`</s>`) the position table can encode: RoBERTa's
    /// positions start after the padding index, so roberta-base (514 rows) takes 512 tokens.
    public var maxTokens: Int { maxPositionEmbeddings - padTokenId - 1 }

    /// Infers the shape from `text_encoder.*` keys (heads are not visible in shapes: hidden/64, as in
    /// every RoBERTa size). Returns nil when the state dict has no text encoder.
    public static func inferred(from shapes: [String: [Int]], prefix: String = "text_encoder.") -> RobertaConfiguration? {
        guard let words = shapes[prefix + "embeddings.word_embeddings.weight"], words.count == 2,
              let positions = shapes[prefix + "embeddings.position_embeddings.weight"],
              let types = shapes[prefix + "embeddings.token_type_embeddings.weight"] else { return nil }
        var config = RobertaConfiguration()
        config.vocabSize = words[0]
        config.hiddenSize = words[1]
        config.maxPositionEmbeddings = positions[0]
        config.typeVocabSize = types[0]
        var layers = 0
        while shapes[prefix + "encoder.layer.\(layers).attention.self.query.weight"] != nil { layers += 1 }
        config.numHiddenLayers = layers
        config.numAttentionHeads = max(1, words[1] / 64)
        if let ffn = shapes[prefix + "encoder.layer.0.intermediate.dense.weight"] { config.intermediateSize = ffn[0] }
        return config
    }
}
