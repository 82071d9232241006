// Architecture from a state dict: official checkpoints (main.py's {'model': state_dict}) ship without
// their opts, so every shape-determined option is read back from the parameter shapes (spec §2).

extension ReferFormerConfiguration {
    /// The configuration that a checkpoint's parameter shapes imply.
    ///
    /// Options that shapes cannot reveal take the official defaults: `nheads` 8, 4 sampling points
    /// (`enc_n_points`, `dec_n_points`), `rel_coord` true, RoBERTa heads = hidden / 64.
    /// - Parameter shapes: every state-dict key with its shape (e.g. `StateDict.shapes`).
    /// - Throws: `.configuration` when a key the inference needs is absent or shapes are inconsistent.
    public static func inferred(fromShapes shapes: [String: [Int]]) throws(ReferFormerError) -> ReferFormerConfiguration {
        // Swin / Video-Swin (official models/swin_transformer.py): patch_embed + layers.N.blocks, not ResNet keys.
        if let key = shapes.keys.sorted().first(where: { $0.hasPrefix("backbone.0.body.patch_embed.") || $0.hasPrefix("backbone.0.body.layers.") }) {
            let kind = shapes["backbone.0.body.patch_embed.proj.weight"]?.count == 5 ? "Video-Swin" : "Swin"
            throw swinNotSupported("these weights have a \(kind) backbone (\(key))")
        }
        var reader = ShapeReader(shapes: shapes)
        var c = ReferFormerConfiguration()

        // Transformer width, FFN width, layer counts.
        let queryEmbed = reader.shape("query_embed.weight", rank: 2)
        c.numQueries = queryEmbed[0]
        c.hiddenDim = queryEmbed[1]
        c.numFeatureLevels = reader.shape("transformer.level_embed", rank: 2)[0]
        c.encLayers = reader.count(indexedPrefix: "transformer.encoder.layers.", suffix: ".linear1.weight")
        c.decLayers = reader.count(indexedPrefix: "transformer.decoder.layers.", suffix: ".linear1.weight")
        c.dimFeedforward = reader.shape("transformer.encoder.layers.0.linear1.weight", rank: 2)[0]
        c.withBoxRefine = reader.count(indexedPrefix: "bbox_embed.", suffix: ".layers.0.weight") > 1
        c.binary = reader.shape("class_embed.0.weight", rank: 2)[0] == 1

        // Sampling points: offsets = nheads · levels · points · 2; with nheads 8 assumed.
        let offsets = reader.shape("transformer.encoder.layers.0.self_attn.sampling_offsets.weight", rank: 2)[0]
        let decOffsets = reader.shape("transformer.decoder.layers.0.cross_attn.sampling_offsets.weight", rank: 2)[0]
        if c.nheads * c.numFeatureLevels > 0 {
            c.encNPoints = offsets / (2 * c.nheads * c.numFeatureLevels)
            c.decNPoints = decOffsets / (2 * c.nheads * c.numFeatureLevels)
        }

        // Mask head: controller MLP output and depth; mask_dim from the pixel decoder's last conv.
        c.controllerLayers = reader.count(indexedPrefix: "controller.layers.", suffix: ".weight")
        let controllerOut = reader.shape("controller.layers.\(max(c.controllerLayers - 1, 0)).weight", rank: 2)[0]
        c.maskDim = reader.shape("pixel_decoder.mask_features.weight", rank: 4)[0]
        if let channels = ReferFormerConfiguration.dynamicChannels(parameterCount: controllerOut, maskDim: c.maskDim,
                                                                   layers: c.controllerLayers, relCoord: c.relCoord) {
            c.dynamicMaskChannels = channels
        } else if reader.problems.isEmpty {
            reader.problems.append("controller output \(controllerOut) fits no dynamic_mask_channels for mask_dim \(c.maskDim), \(c.controllerLayers) layers, rel_coord true")
        }

        c.backbone = reader.backbone()
        c.textEncoder = reader.textEncoder()
        guard reader.problems.isEmpty else {
            throw ReferFormerError(.configuration, "cannot infer the ReferFormer architecture from the weights: " + reader.problems.joined(separator: "; "))
        }
        return c
    }

    /// This configuration, checked against a checkpoint's shapes: every option the shapes determine
    /// must agree. Use it when a configuration is given explicitly (it overrides the defaults that
    /// inference assumes, e.g. `nheads`, the points, `rel_coord`).
    /// - Throws: `.configuration` naming each conflicting option with both values.
    public func validated(againstShapes shapes: [String: [Int]]) throws(ReferFormerError) -> ReferFormerConfiguration {
        try validate()
        let probe = try ReferFormerConfiguration.inferred(fromShapes: shapes)
        var conflicts: [String] = []
        func check<V: Equatable>(_ name: String, _ mine: V, _ theirs: V) {
            if mine != theirs { conflicts.append("\(name): configuration \(mine), weights \(theirs)") }
        }
        check("hidden_dim", hiddenDim, probe.hiddenDim)
        check("enc_layers", encLayers, probe.encLayers)
        check("dec_layers", decLayers, probe.decLayers)
        check("dim_feedforward", dimFeedforward, probe.dimFeedforward)
        check("num_queries", numQueries, probe.numQueries)
        check("num_feature_levels", numFeatureLevels, probe.numFeatureLevels)
        check("with_box_refine", withBoxRefine, probe.withBoxRefine)
        check("binary", binary, probe.binary)
        check("mask_dim", maskDim, probe.maskDim)
        check("controller_layers", controllerLayers, probe.controllerLayers)
        // Shape products that depend on options shapes cannot separate (nheads × points, channels × rel_coord).
        let sampling = shapes["transformer.encoder.layers.0.self_attn.sampling_offsets.weight"]?.first
        check("nheads × num_feature_levels × enc_n_points × 2", nheads * numFeatureLevels * encNPoints * 2, sampling ?? -1)
        let decSampling = shapes["transformer.decoder.layers.0.cross_attn.sampling_offsets.weight"]?.first
        check("nheads × num_feature_levels × dec_n_points × 2", nheads * numFeatureLevels * decNPoints * 2, decSampling ?? -1)
        let controllerOut = shapes["controller.layers.\(controllerLayers - 1).weight"]?.first
        check("controller output (controller_layers, dynamic_mask_channels, rel_coord)", controllerParameterCount, controllerOut ?? -1)
        check("backbone", backbone, probe.backbone)
        var text = probe.textEncoder
        text.numAttentionHeads = textEncoder.numAttentionHeads
        text.layerNormEps = textEncoder.layerNormEps
        text.padTokenId = textEncoder.padTokenId
        check("text_encoder", textEncoder, text)
        if textEncoder.hiddenSize % textEncoder.numAttentionHeads != 0 {
            conflicts.append("text_encoder hidden_size \(textEncoder.hiddenSize) is not a multiple of num_attention_heads \(textEncoder.numAttentionHeads)")
        }
        guard conflicts.isEmpty else {
            throw ReferFormerError(.configuration, "the configuration contradicts the weights: " + conflicts.joined(separator: "; "))
        }
        return self
    }

    /// Resolves the architecture for a checkpoint: the explicit configuration if given (checked against
    /// the shapes), else the inferred one (validated).
    public static func resolve(explicit: ReferFormerConfiguration?, shapes: [String: [Int]]) throws(ReferFormerError) -> ReferFormerConfiguration {
        if let explicit { return try explicit.validated(againstShapes: shapes) }
        let inferred = try inferred(fromShapes: shapes)
        try inferred.validate()
        return inferred
    }

    /// Solves `controller output = f(channels)` for the dynamic mask head (weights + biases of
    /// `layers` 1×1 convs from `maskDim (+2)` inputs to 1 output).
    static func dynamicChannels(parameterCount: Int, maskDim: Int, layers: Int, relCoord: Bool) -> Int? {
        for ch in 1...1024 {
            var probe = ReferFormerConfiguration()
            probe.maskDim = maskDim
            probe.controllerLayers = layers
            probe.relCoord = relCoord
            probe.dynamicMaskChannels = ch
            if probe.controllerParameterCount == parameterCount { return ch }
            if probe.controllerParameterCount > parameterCount { return nil }
        }
        return nil
    }
}

/// Reads shapes by key, collecting every problem instead of stopping at the first.
private struct ShapeReader {
    let shapes: [String: [Int]]
    var problems: [String] = []

    mutating func shape(_ key: String, rank: Int) -> [Int] {
        guard let s = shapes[key] else {
            problems.append("missing \(key)")
            return [Int](repeating: 0, count: rank)
        }
        guard s.count == rank else {
            problems.append("\(key) has shape \(s), expected rank \(rank)")
            return [Int](repeating: 0, count: rank)
        }
        return s
    }

    /// Number of consecutive indices i = 0, 1, … for which `prefix + i + suffix` exists.
    func count(indexedPrefix prefix: String, suffix: String) -> Int {
        var i = 0
        while shapes["\(prefix)\(i)\(suffix)"] != nil { i += 1 }
        return i
    }

    mutating func backbone() -> BackboneDescription {
        let body = "backbone.0.body."
        var layers: [Int] = []
        var widthPerGroup = 0
        for stage in 0..<4 {
            let prefix = "\(body)layer\(stage + 1)."
            let blocks = count(indexedPrefix: prefix, suffix: ".conv1.weight")
            if blocks == 0 { problems.append("missing \(prefix)0.conv1.weight"); continue }
            layers.append(blocks)
            let width = shape("\(prefix)0.conv1.weight", rank: 4)[0]
            let out = shape("\(prefix)0.conv3.weight", rank: 4)[0]
            if out != 256 << stage {
                problems.append("\(prefix)0.conv3.weight has \(out) output channels; a ResNet bottleneck stage \(stage + 1) has \(256 << stage)")
            }
            let perGroup = width >> stage
            if stage == 0 { widthPerGroup = perGroup }
            else if perGroup << stage != width || perGroup != widthPerGroup {
                problems.append("bottleneck widths are not width_per_group · 2^i (stage \(stage + 1): \(width), width_per_group \(widthPerGroup))")
            }
        }
        let stem = shape("\(body)conv1.weight", rank: 4)
        if stem != [BackboneDescription.stemChannels, 3, 7, 7] && problems.isEmpty {
            problems.append("\(body)conv1.weight has shape \(stem), expected [64, 3, 7, 7]")
        }
        return BackboneDescription(layers: layers, widthPerGroup: widthPerGroup)
    }

    mutating func textEncoder() -> TextEncoderDescription {
        let p = "text_encoder."
        let words = shape("\(p)embeddings.word_embeddings.weight", rank: 2)
        let positions = shape("\(p)embeddings.position_embeddings.weight", rank: 2)
        let types = shape("\(p)embeddings.token_type_embeddings.weight", rank: 2)
        let layers = count(indexedPrefix: "\(p)encoder.layer.", suffix: ".attention.self.query.weight")
        let intermediate = layers > 0 ? shape("\(p)encoder.layer.0.intermediate.dense.weight", rank: 2)[0] : 0
        if layers == 0 { problems.append("no text_encoder.encoder.layer.* keys") }
        return TextEncoderDescription(vocabSize: words[0], hiddenSize: words[1], numHiddenLayers: layers,
                                      numAttentionHeads: max(words[1] / 64, 1), intermediateSize: intermediate,
                                      maxPositionEmbeddings: positions[0], typeVocabSize: types[0])
    }
}
