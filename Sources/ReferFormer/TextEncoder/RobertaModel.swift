// HuggingFace transformers models/roberta/modeling_roberta.py: RobertaModel (embeddings, post-LN
// encoder layers, pooler) as ReferFormer uses it (models/referformer.py, forward_text), eval mode.
import Tensor

/// `RobertaEmbeddings`: word + position + token-type embeddings, then LayerNorm.
struct RobertaEmbeddings: Sendable {
    var wordEmbeddings: Embedding
    var positionEmbeddings: Embedding
    var tokenTypeEmbeddings: Embedding
    var layerNorm: LayerNorm  // `LayerNorm`
    let padTokenId: Int

    init(weights: StateDict, prefix: String, configuration c: TextEncoderDescription) {
        let e = c.hiddenSize
        wordEmbeddings = Embedding(weights: weights, prefix: "\(prefix).word_embeddings", count: c.vocabSize, dimension: e)
        positionEmbeddings = Embedding(weights: weights, prefix: "\(prefix).position_embeddings", count: c.maxPositionEmbeddings, dimension: e)
        tokenTypeEmbeddings = Embedding(weights: weights, prefix: "\(prefix).token_type_embeddings", count: c.typeVocabSize, dimension: e)
        layerNorm = LayerNorm(weights: weights, prefix: "\(prefix).LayerNorm", dimension: e, eps: c.layerNormEps)
        padTokenId = c.padTokenId
    }

    /// - Returns: (L, E) for one sequence of ids (no batch dimension).
    func callAsFunction(_ ids: [Int], attentionMask: [Bool]) -> Tensor {
        // create_position_ids_from_input_ids: cumulative count of non-pad tokens, offset by the pad
        // index; pads get the pad index itself. (HF derives the mask from ids != pad_token_id.)
        var running = 0
        let positions = ids.map { id -> Int in
            guard id != padTokenId else { return padTokenId }
            running += 1
            return running + padTokenId
        }
        // HF adds in this order: (word + token_type) + position; token type 0 everywhere.
        let summed = (wordEmbeddings(ids) + tokenTypeEmbeddings([0])) + positionEmbeddings(positions)
        return layerNorm(summed)
    }
}

/// `RobertaLayer`: self-attention + output (residual, LayerNorm), intermediate (GELU) + output
/// (residual, LayerNorm). Post-LN, like BERT.
struct RobertaLayer: Sendable {
    var query: Linear, key: Linear, value: Linear  // attention.self.{query,key,value}
    var attentionOutput: Linear  // attention.output.dense
    var attentionNorm: LayerNorm  // attention.output.LayerNorm
    var intermediate: Linear  // intermediate.dense
    var output: Linear  // output.dense
    var outputNorm: LayerNorm  // output.LayerNorm
    let heads: Int

    init(weights: StateDict, prefix p: String, configuration c: TextEncoderDescription) {
        let e = c.hiddenSize, f = c.intermediateSize
        query = Linear(weights: weights, prefix: "\(p).attention.self.query", inFeatures: e, outFeatures: e)
        key = Linear(weights: weights, prefix: "\(p).attention.self.key", inFeatures: e, outFeatures: e)
        value = Linear(weights: weights, prefix: "\(p).attention.self.value", inFeatures: e, outFeatures: e)
        attentionOutput = Linear(weights: weights, prefix: "\(p).attention.output.dense", inFeatures: e, outFeatures: e)
        attentionNorm = LayerNorm(weights: weights, prefix: "\(p).attention.output.LayerNorm", dimension: e, eps: c.layerNormEps)
        intermediate = Linear(weights: weights, prefix: "\(p).intermediate.dense", inFeatures: e, outFeatures: f)
        output = Linear(weights: weights, prefix: "\(p).output.dense", inFeatures: f, outFeatures: e)
        outputNorm = LayerNorm(weights: weights, prefix: "\(p).output.LayerNorm", dimension: e, eps: c.layerNormEps)
        heads = c.numAttentionHeads
        precondition(e % heads == 0, "hidden size \(e) is not divisible by \(heads) heads")
    }

    /// - Parameters:
    ///   - x: (L, E) hidden states of one sequence.
    ///   - keyBias: (1, 1, L) additive mask, 0 for tokens and -inf-like for padding; nil without padding.
    func callAsFunction(_ x: Tensor, keyBias: Tensor?) -> Tensor {
        let l = x.shape[0], e = x.shape[1], d = e / heads
        // (L, E) → (heads, L, d): "l (h d) -> h l d"
        func splitHeads(_ t: Tensor) -> Tensor { t.reshaped([l, heads, d]).permuted([1, 0, 2]) }
        let q = splitHeads(query(x)), k = splitHeads(key(x)), v = splitHeads(value(x))
        // HF eager/SDPA attention: softmax(q·kᵀ / sqrt(d) + mask) · v.
        var scores = matmul(q, k.transposed(-2, -1)) * (1 / Float(d).squareRoot())
        if let keyBias { scores = scores + keyBias }
        let context = matmul(scores.softmax(axis: -1), v)  // (heads, L, d)
        let merged = context.permuted([1, 0, 2]).reshaped([l, e])  // "h l d -> l (h d)"
        let attended = attentionNorm(attentionOutput(merged) + x)
        let hidden = intermediate(attended).gelu()
        return outputNorm(output(hidden) + attended)
    }
}

/// `RobertaModel` with its pooler, eval mode: the text encoder of ReferFormer.
public struct RobertaModel: Sendable {
    public let configuration: TextEncoderDescription
    var embeddings: RobertaEmbeddings
    /// `encoder.layer.{i}`
    var layers: [RobertaLayer]
    var pooler: Linear  // pooler.dense

    /// Takes the `text_encoder.*` (or `prefix`) keys from `weights`.
    public init(weights: StateDict, prefix: String = "text_encoder", configuration: TextEncoderDescription) {
        self.configuration = configuration
        embeddings = RobertaEmbeddings(weights: weights, prefix: "\(prefix).embeddings", configuration: configuration)
        layers = (0..<configuration.numHiddenLayers).map {
            RobertaLayer(weights: weights, prefix: "\(prefix).encoder.layer.\($0)", configuration: configuration)
        }
        let e = configuration.hiddenSize
        pooler = Linear(weights: weights, prefix: "\(prefix).pooler.dense", inFeatures: e, outFeatures: e)
        // Recent transformers no longer keep `position_ids` as a persistent buffer; old checkpoints do.
        weights.allowUnused { $0 == "\(prefix).embeddings.position_ids" }
    }

    /// Output of one forward pass.
    public struct Output: Sendable {
        /// (1, L, E): `last_hidden_state`.
        public var lastHiddenState: Tensor
        /// (1, E): `pooler_output` = tanh(dense(h[:, 0])).
        public var poolerOutput: Tensor
        /// (1, L, E): the embeddings output (for parity checks).
        public var embeddings: Tensor
    }

    /// Encodes one token sequence (ids include `<s>` and `</s>`).
    /// - Precondition: every id is below the vocabulary size and the sequence fits the positions.
    public func callAsFunction(ids: [Int], attentionMask: [Bool]? = nil) -> Output {
        let mask = attentionMask ?? [Bool](repeating: true, count: ids.count)
        precondition(mask.count == ids.count, "attention mask length \(mask.count) ≠ \(ids.count) ids")
        precondition(ids.allSatisfy { $0 >= 0 && $0 < configuration.vocabSize }, "token id outside the vocabulary of \(configuration.vocabSize)")
        precondition(ids.count <= configuration.maxTokens, "\(ids.count) tokens exceed the \(configuration.maxTokens) positions of the text encoder")
        let embedded = embeddings(ids, attentionMask: mask)
        // HF's extended attention mask: (1 − mask) · finfo(float32).min, added to every query row.
        let keyBias: Tensor? = mask.allSatisfy { $0 } ? nil
            : Tensor(shape: [1, 1, ids.count], elements: mask.map { $0 ? 0 : -Float.greatestFiniteMagnitude })
        var hidden = embedded
        for layer in layers { hidden = layer(hidden, keyBias: keyBias) }
        let first = hidden.sliced(0, 0..<1)
        let pooled = pooler(first).tanh()
        return Output(lastHiddenState: hidden.unsqueezed(0), poolerOutput: pooled, embeddings: embedded.unsqueezed(0))
    }
}

extension TextEncoderDescription {
    /// The longest token sequence (with `<s>`/`</s>`) the position table can encode: RoBERTa's
    /// positions start after the padding index, so roberta-base (514 rows) takes 512 tokens.
    public var maxTokens: Int { maxPositionEmbeddings - padTokenId - 1 }
}
