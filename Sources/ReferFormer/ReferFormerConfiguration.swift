// ReferFormer opts.py (model options) and models/referformer.py `build` — the inference-relevant
// hyper-parameters, with the official option names as coding keys and the official defaults.

/// The architecture of a ReferFormer model.
///
/// Coding keys are the official `opts.py` option names; a key absent from a decoded document takes the
/// official default (`hidden_dim` 256, `nheads` 8, 4 + 4 layers, 5 queries, 4 levels, 4 points, …).
/// The backbone and text encoder are described separately because the official code hard-codes them.
/// Official checkpoints carry no configuration: `inferred(fromShapes:)` recovers everything that the
/// parameter shapes reveal, and `validated(againstShapes:)` checks an explicit configuration against
/// a checkpoint.
public struct ReferFormerConfiguration: Codable, Sendable, Equatable {
    public var hiddenDim: Int = 256
    public var nheads: Int = 8
    public var encLayers: Int = 4
    public var decLayers: Int = 4
    public var dimFeedforward: Int = 2048
    public var numQueries: Int = 5
    public var numFeatureLevels: Int = 4
    public var encNPoints: Int = 4
    public var decNPoints: Int = 4
    /// The released models are trained and run with `--with_box_refine`.
    public var withBoxRefine: Bool = true
    /// Must be false: the official code asserts it for ReferFormer.
    public var twoStage: Bool = false
    /// Forced true by both official inference scripts.
    public var masks: Bool = true
    public var maskDim: Int = 256
    public var controllerLayers: Int = 3
    public var dynamicMaskChannels: Int = 8
    public var relCoord: Bool = true
    /// `--binary`: one class (the released checkpoints).
    public var binary: Bool = true
    public var backbone: BackboneDescription = .resnet50
    public var textEncoder: TextEncoderDescription = .robertaBase

    enum CodingKeys: String, CodingKey {
        case hiddenDim = "hidden_dim", nheads, encLayers = "enc_layers", decLayers = "dec_layers"
        case dimFeedforward = "dim_feedforward", numQueries = "num_queries"
        case numFeatureLevels = "num_feature_levels", encNPoints = "enc_n_points", decNPoints = "dec_n_points"
        case withBoxRefine = "with_box_refine", twoStage = "two_stage", masks, maskDim = "mask_dim"
        case controllerLayers = "controller_layers", dynamicMaskChannels = "dynamic_mask_channels"
        case relCoord = "rel_coord", binary, backbone, textEncoder = "text_encoder"
    }

    public init() {}

    // Decoding (both file formats, unknown keys rejected): ReferFormerConfiguration+File.swift.

    // MARK: Derived constants (hard-coded in the official code)

    /// Heads of the fusion module and the pixel-decoder attention (hard-coded 8 upstream).
    public static let fusionHeads = 8
    /// GroupNorm groups of `input_proj`.
    public static let inputProjectionGroups = 32

    /// Classes of `class_embed`: 1 with `--binary` (65 for Ref-YTVOS otherwise).
    public var numClasses: Int { binary ? 1 : 65 }

    /// Whether the backbone's features of a frame depend on the other frames of the clip (Video-Swin):
    /// a windowed runner must then re-run the backbone on each window's frames instead of caching
    /// features per frame (ResNet, Swin).
    public var backboneMixesFrames: Bool { backbone.mixesFrames }

    /// Per-layer dynamic-conv weight counts (`controller` output split), e.g. [2064, 64, 8] at mask_dim 256.
    public var controllerWeightNums: [Int] {
        var nums: [Int] = []
        let inputs = maskDim + (relCoord ? 2 : 0)
        for l in 0..<controllerLayers {
            if l == 0 { nums.append(inputs * dynamicMaskChannels) }
            else if l == controllerLayers - 1 { nums.append(dynamicMaskChannels) }
            else { nums.append(dynamicMaskChannels * dynamicMaskChannels) }
        }
        return nums
    }

    public var controllerBiasNums: [Int] {
        (0..<controllerLayers).map { $0 == controllerLayers - 1 ? 1 : dynamicMaskChannels }
    }

    /// Output width of the controller MLP.
    public var controllerParameterCount: Int { controllerWeightNums.reduce(0, +) + controllerBiasNums.reduce(0, +) }

    /// Throws for the combinations the official code rejects or this implementation does not run.
    public func validate() throws(ReferFormerError) {
        var problems: [String] = []
        if twoStage { problems.append("two_stage = true is rejected by the official ReferFormer (it asserts two_stage == False)") }
        if !masks { problems.append("masks = false: both official inference scripts force masks = true") }
        if !withBoxRefine { problems.append("with_box_refine = false is not supported (the released models use box refinement)") }
        if hiddenDim <= 0 || hiddenDim % nheads != 0 { problems.append("hidden_dim \(hiddenDim) must be a positive multiple of nheads \(nheads)") }
        if hiddenDim % ReferFormerConfiguration.fusionHeads != 0 { problems.append("hidden_dim \(hiddenDim) must be a multiple of the 8 fusion heads") }
        if hiddenDim % ReferFormerConfiguration.inputProjectionGroups != 0 { problems.append("hidden_dim \(hiddenDim) must be a multiple of the 32 GroupNorm groups of input_proj") }
        if hiddenDim % 2 != 0 { problems.append("hidden_dim \(hiddenDim) must be even (2-D position encodings)") }
        if numFeatureLevels != 4 { problems.append("num_feature_levels \(numFeatureLevels): only 4 (strides 8, 16, 32, 64) is supported") }
        if encLayers < 1 || decLayers < 1 || numQueries < 1 || encNPoints < 1 || decNPoints < 1 || dimFeedforward < 1 {
            problems.append("layer counts, queries, points and dim_feedforward must be positive")
        }
        if controllerLayers < 2 { problems.append("controller_layers \(controllerLayers) must be at least 2") }
        if let swin = backbone.swin {
            problems += swin.problems.map { "Swin backbone: \($0)" }
        } else if backbone.layers.count != 4 || backbone.layers.contains(where: { $0 < 1 }) {
            problems.append("backbone layers \(backbone.layers) must be 4 positive block counts")
        }
        guard problems.isEmpty else {
            throw ReferFormerError(.configuration, "invalid ReferFormer configuration: " + problems.joined(separator: "; "))
        }
    }
}

/// The backbone: a torchvision-style ResNet v1.5 with bottleneck blocks (the official `Backbone`), or
/// a Swin / Video-Swin transformer (`swin` set).
public struct BackboneDescription: Codable, Sendable, Equatable {
    /// Bottleneck blocks in layer1..layer4 (ResNet-50: [3, 4, 6, 3]); for Swin, the blocks per stage.
    public var layers: [Int]
    /// torchvision `width_per_group` (64 for ResNet-50/101): bottleneck width of layer i is
    /// `width_per_group · 2^i`; the block outputs are `256 · 2^i` channels regardless. 0 for Swin.
    public var widthPerGroup: Int
    /// The Swin / Video-Swin configuration when the backbone is one (nil: ResNet).
    public var swin: SwinDescription?

    enum CodingKeys: String, CodingKey {
        case layers, widthPerGroup = "width_per_group"
    }

    public init(layers: [Int], widthPerGroup: Int = 64) {
        self.layers = layers
        self.widthPerGroup = widthPerGroup
    }

    /// A Swin or Video-Swin backbone.
    public init(swin: SwinDescription) {
        layers = swin.depths
        widthPerGroup = 0
        self.swin = swin
    }

    /// Whether a frame's features depend on the other frames of the clip (Video-Swin).
    public var mixesFrames: Bool { swin?.video ?? false }

    /// Decodes the official option value (`"resnet50"`, `"resnet101"`, `"swin_t_p4w7"`, …,
    /// `"video_swin_b_p4w7"`), an explicit layout `{"layers": [2, 1, 1, 1], "width_per_group": 8}`, or
    /// a Swin configuration `{"embed_dim": 96, "depths": […], "num_heads": […], "window_size": …}`.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            guard let preset = BackboneDescription(officialName: name) else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription:
                    "backbone \"\(name)\" is not supported: use resnet50, resnet101, swin_{t,s,b,l}_p4w7, video_swin_{t,s,b}_p4w7 or {\"layers\": [...], \"width_per_group\": n}")
            }
            self = preset
            return
        }
        if let swin = try? SwinDescription(from: decoder) {
            self.init(swin: swin)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(layers: try c.decode([Int].self, forKey: .layers),
                  widthPerGroup: try c.decodeIfPresent(Int.self, forKey: .widthPerGroup) ?? 64)
    }

    /// Encodes a preset as its official name, anything else as the explicit layout.
    public func encode(to encoder: any Encoder) throws {
        if let name = officialName {
            var single = encoder.singleValueContainer()
            try single.encode(name)
        } else if let swin {
            try swin.encode(to: encoder)
        } else {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(layers, forKey: .layers)
            try c.encode(widthPerGroup, forKey: .widthPerGroup)
        }
    }

    /// The official `--backbone` name of a torchvision preset.
    public init?(officialName name: String) {
        switch name {
        case "resnet50": self = .resnet50
        case "resnet101": self = .resnet101
        default:
            guard let swin = SwinDescription(officialName: name) else { return nil }
            self.init(swin: swin)
        }
    }

    public var officialName: String? {
        if let swin { return swin.officialName }
        return switch self {
        case .resnet50: "resnet50"
        case .resnet101: "resnet101"
        default: nil
        }
    }

    public static let resnet50 = BackboneDescription(layers: [3, 4, 6, 3])
    public static let resnet101 = BackboneDescription(layers: [3, 4, 23, 3])

    /// Stem output channels (conv1).
    public static let stemChannels = 64
    /// Bottleneck width of stage `i` (0 = layer1).
    public func width(stage i: Int) -> Int { widthPerGroup * (1 << i) }
    /// Output channels of stage `i`: planes · expansion 4 = 256 · 2^i.
    public func outChannels(stage i: Int) -> Int { swin?.outChannels(stage: i) ?? 256 << i }
}

/// The HuggingFace RoBERTa encoder (`RobertaModel` with pooler) that ReferFormer uses.
public struct TextEncoderDescription: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var padTokenId: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps", padTokenId = "pad_token_id"
    }

    public init(vocabSize: Int, hiddenSize: Int = 768, numHiddenLayers: Int, numAttentionHeads: Int? = nil,
                intermediateSize: Int, maxPositionEmbeddings: Int = 514, typeVocabSize: Int = 1,
                layerNormEps: Float = 1e-5, padTokenId: Int = 1) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads ?? hiddenSize / 64
        self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.padTokenId = padTokenId
    }

    /// HuggingFace `roberta-base`.
    public static let robertaBase = TextEncoderDescription(vocabSize: 50265, numHiddenLayers: 12, intermediateSize: 3072)
}
