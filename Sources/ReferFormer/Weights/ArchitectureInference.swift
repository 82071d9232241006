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
        // Swin / Video-Swin (official models/swin_transformer.py, video_swin_transformer.py): patch_embed +
        // layers.N.blocks instead of the ResNet's conv1 + layerN.
        let isSwin = shapes.keys.contains { $0.hasPrefix("backbone.0.body.patch_embed.") || $0.hasPrefix("backbone.0.body.layers.") }
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

        c.backbone = isSwin ? reader.swinBackbone() : reader.backbone()
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

    /// Swin / Video-Swin hyper-parameters from the shapes (golden README §8): C from the patch
    /// embedding (rank 5 = Video-Swin), depths from the block counts, heads from the bias tables' columns,
    /// mlp_ratio from fc1, the window from the table rows (2-D: (2W−1)²) or, in 3-D, from the index
    /// buffer's N = Wd·Wh·Ww together with the table's (2Wd−1)(2Wh−1)(2Ww−1), Wh = Ww.
    mutating func swinBackbone() -> BackboneDescription {
        let body = "backbone.0.body."
        guard let patch = shapes["\(body)patch_embed.proj.weight"], patch.count == 4 || patch.count == 5, patch[1] == 3 else {
            problems.append("a Swin backbone needs \(body)patch_embed.proj.weight of shape (C, 3, 4, 4) or (C, 3, 1, 4, 4), got \(shapes["\(body)patch_embed.proj.weight"].map { "\($0)" } ?? "none")")
            return BackboneDescription(swin: .swinT)
        }
        let video = patch.count == 5
        if video && patch[2] != 1 { problems.append("\(body)patch_embed.proj.weight \(patch): Video-Swin's temporal patch size must be 1 (ReferFormer's)") }
        let embed = patch[0]
        var depths: [Int] = [], heads: [Int] = []
        var ratio = 4.0
        var window: [Int] = []
        for i in 0..<4 {
            let prefix = "\(body)layers.\(i).blocks."
            let blocks = count(indexedPrefix: prefix, suffix: ".norm1.weight")
            if blocks == 0 { problems.append("missing \(prefix)0.norm1.weight"); continue }
            depths.append(blocks)
            let table = shape("\(prefix)0.attn.relative_position_bias_table", rank: 2)
            heads.append(table[1])
            if i == 0 {
                let hidden = shape("\(prefix)0.mlp.fc1.weight", rank: 2)[0]
                if embed > 0 { ratio = Double(hidden) / Double(embed) }
                window = Self.swinWindow(tableRows: table[0], indexRows: shapes["\(prefix)0.attn.relative_position_index"]?.first, video: video) ?? []
                if window.isEmpty {
                    problems.append("\(prefix)0.attn.relative_position_bias_table has \(table[0]) rows"
                        + (video ? " and relative_position_index \(shapes["\(prefix)0.attn.relative_position_index"].map { "\($0)" } ?? "is missing")" : "")
                        + ": no \(video ? "(Wd, W, W)" : "W×W") window fits")
                }
            }
        }
        let swin = SwinDescription(video: video, embedDim: embed, depths: depths, numHeads: heads, windowSize: window.isEmpty ? (video ? [8, 7, 7] : [7]) : window,
                                   mlpRatio: ratio, patchNorm: shapes["\(body)patch_embed.norm.weight"] != nil, patchSize: patch[patch.count - 1])
        if problems.isEmpty { problems += swin.problems.map { "Swin backbone: \($0)" } }
        return BackboneDescription(swin: swin)
    }

    /// The window that gives a bias table of `tableRows` rows (and, in 3-D, an index of `indexRows`).
    static func swinWindow(tableRows: Int, indexRows: Int?, video: Bool) -> [Int]? {
        if !video {
            let side = Int(Double(tableRows).squareRoot().rounded())
            return side * side == tableRows && side % 2 == 1 ? [(side + 1) / 2] : nil
        }
        guard let n = indexRows else { return nil }
        for w in 1...64 where n % (w * w) == 0 {
            let d = n / (w * w)
            if (2 * d - 1) * (2 * w - 1) * (2 * w - 1) == tableRows { return [d, w, w] }
        }
        return nil
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
