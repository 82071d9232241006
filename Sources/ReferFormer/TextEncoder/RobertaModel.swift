// HuggingFace transformers models/roberta/modeling_roberta.py: RobertaModel (embeddings, post-LN
// encoder layers, pooler) as ReferFormer uses it (models/referformer.py, forward_text), eval mode.
import Tensor

/// `RobertaEmbeddings`: word + position + token-type embeddings, then LayerNorm.
struct RobertaEmbeddings {
    let wordEmbeddings: Tensor  // embeddings.word_embeddings.weight (V, E)
    let positionEmbeddings: Tensor  // embeddings.position_embeddings.weight (P, E)
    let tokenTypeEmbeddings: Tensor  // embeddings.token_type_embeddings.weight (T, E)
    let layerNormWeight: Tensor  // embeddings.LayerNorm.weight
    let layerNormBias: Tensor  // embeddings.LayerNorm.bias
    let eps: Float
    let padTokenId: Int

    init(_ weights: StateDict, prefix p: String, config c: TextEncoderDescription) {
        wordEmbeddings = weights.take(p + "word_embeddings.weight", shape: [c.vocabSize, c.hiddenSize])
        positionEmbeddings = weights.take(p + "position_embeddings.weight", shape: [c.maxPositionEmbeddings, c.hiddenSize])
        tokenTypeEmbeddings = weights.take(p + "token_type_embeddings.weight", shape: [c.typeVocabSize, c.hiddenSize])
        layerNormWeight = weights.take(p + "LayerNorm.weight", shape: [c.hiddenSize])
        layerNormBias = weights.take(p + "LayerNorm.bias", shape: [c.hiddenSize])
        eps = c.layerNormEps
        padTokenId = c.padTokenId
    }

    /// - Returns: (L, E) for one sequence of ids (no batch dimension).
    func callAsFunction(_ ids: [Int], attentionMask: [Bool]) -> Tensor {
        let e = wordEmbeddings.shape[1]
        // create_position_ids_from_input_ids: cumulative count of non-pad tokens, offset by the pad
        // index; pads get the pad index itself. (HF derives the mask from ids != pad_token_id.)
        var running = 0
        let positions = ids.map { id -> Int in
            guard id != padTokenId else { return padTokenId }
            running += 1
            return running + padTokenId
        }
        let words = wordEmbeddings.contiguous(), pos = positionEmbeddings.contiguous()
        let type0 = tokenTypeEmbeddings.selecting(0, 0).contiguous()
        let summed = Tensor(shape: [ids.count, e]) { out in
            words.withUnsafeBufferPointer { w in
                pos.withUnsafeBufferPointer { p in
                    type0.withUnsafeBufferPointer { t in
                        for (i, id) in ids.enumerated() {
                            let wi = id * e, pi = positions[i] * e
                            // HF adds in this order: (word + token_type) + position.
                            for j in 0..<e { out[i * e + j] = (w[wi + j] + t[j]) + p[pi + j] }
                        }
                    }
                }
            }
        }
        return summed.layerNorm(weight: layerNormWeight, bias: layerNormBias, eps: eps)
    }
}

/// `RobertaLayer`: self-attention + output (residual, LayerNorm), intermediate (GELU) + output
/// (residual, LayerNorm). Post-LN, like BERT.
struct RobertaLayer {
    let query: Linear, key: Linear, value: Linear  // attention.self.{query,key,value}
    let attentionOutput: Linear  // attention.output.dense
    let attentionNormWeight: Tensor, attentionNormBias: Tensor  // attention.output.LayerNorm
    let intermediate: Linear  // intermediate.dense
    let output: Linear  // output.dense
    let outputNormWeight: Tensor, outputNormBias: Tensor  // output.LayerNorm
    let heads: Int
    let eps: Float

    init(_ weights: StateDict, prefix p: String, config c: TextEncoderDescription) {
        let e = c.hiddenSize, f = c.intermediateSize
        query = Linear(weights: weights, prefix: p + "attention.self.query", inFeatures: e, outFeatures: e)
        key = Linear(weights: weights, prefix: p + "attention.self.key", inFeatures: e, outFeatures: e)
        value = Linear(weights: weights, prefix: p + "attention.self.value", inFeatures: e, outFeatures: e)
        attentionOutput = Linear(weights: weights, prefix: p + "attention.output.dense", inFeatures: e, outFeatures: e)
        attentionNormWeight = weights.take(p + "attention.output.LayerNorm.weight", shape: [e])
        attentionNormBias = weights.take(p + "attention.output.LayerNorm.bias", shape: [e])
        intermediate = Linear(weights: weights, prefix: p + "intermediate.dense", inFeatures: e, outFeatures: f)
        output = Linear(weights: weights, prefix: p + "output.dense", inFeatures: f, outFeatures: e)
        outputNormWeight = weights.take(p + "output.LayerNorm.weight", shape: [e])
        outputNormBias = weights.take(p + "output.LayerNorm.bias", shape: [e])
        heads = c.numAttentionHeads
        eps = c.layerNormEps
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
        let attended = (attentionOutput(merged) + x).layerNorm(weight: attentionNormWeight, bias: attentionNormBias, eps: eps)
        let hidden = intermediate(attended).gelu()
        return (output(hidden) + attended).layerNorm(weight: outputNormWeight, bias: outputNormBias, eps: eps)
    }
}

/// `RobertaModel` with its pooler, eval mode: the text encoder of ReferFormer.
public struct RobertaModel: Sendable {
    public let configuration: TextEncoderDescription
    let embeddings: RobertaEmbeddings
    let layers: [RobertaLayer]
    let pooler: Linear  // pooler.dense

    /// Takes `text_encoder.*` (or `prefix`) keys from `weights`.
    public init(_ weights: StateDict, prefix: String = "text_encoder.", configuration: TextEncoderDescription) {
        self.configuration = configuration
        embeddings = RobertaEmbeddings(weights, prefix: prefix + "embeddings.", config: configuration)
        layers = (0..<configuration.numHiddenLayers).map {
            RobertaLayer(weights, prefix: prefix + "encoder.layer.\($0).", config: configuration)
        }
        let e = configuration.hiddenSize
        pooler = Linear(weights: weights, prefix: prefix + "pooler.dense", inFeatures: e, outFeatures: e)
        // Recent transformers no longer keep `position_ids` as a persistent buffer; old checkpoints do.
        weights.allowUnused { $0 == prefix + "embeddings.position_ids" }
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
