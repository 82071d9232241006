// Model configuration files: the official opts.py option names (ReferFormer opts.py, the `args` a
// checkpoint was trained with), the reference-data format of the golden `config.json` (sections
// `official_args`, `model`, `backbone`, `text`), and HuggingFace's RobertaConfig keys for the text
// encoder. The schema is documented in docs/model-config.md; every key is known, anything else is an
// error that names it (a misspelt option must not fall back to a default silently).
import Foundation

extension ReferFormerConfiguration {
    /// Reads a model configuration file (JSON), in either format of docs/model-config.md.
    ///
    /// - Throws: `.io` when the file cannot be read; `.configuration` when it is not JSON, has keys
    ///   that are not in the schema (all named), values of the wrong type, or values this
    ///   implementation does not run; every problem is listed in one message.
    public init(contentsOf url: URL) throws(ReferFormerError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw ReferFormerError(.io, "cannot read the model configuration \(url.path): \(reason)")
        }
        let document: ConfigurationValue
        do {
            document = try JSONDecoder().decode(ConfigurationValue.self, from: data)
        } catch {
            throw ReferFormerError(.configuration, "the model configuration \(url.path) is not valid JSON (\(Self.jsonProblem(error)))")
        }
        do {
            self = try ReferFormerConfiguration(document: document)
        } catch {
            throw ReferFormerError(.configuration, "the model configuration \(url.path): \(error.message)")
        }
    }

    /// Decodes either format of docs/model-config.md (see `init(contentsOf:)`); unknown keys and
    /// unsupported values throw a `ReferFormerError` (not a `DecodingError`), whose message names them.
    public init(from decoder: any Decoder) throws {
        self = try ReferFormerConfiguration(document: try ConfigurationValue(from: decoder))
    }

    /// The official names of the `--backbone` values that need a Swin / Video-Swin backbone.
    static func isSwinBackboneName(_ name: String) -> Bool { name.contains("swin") }

    private static func jsonProblem(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            return underlying ?? context.debugDescription
        }
        return "\(error)"
    }

    // MARK: Documents

    init(document: ConfigurationValue) throws(ReferFormerError) {
        guard case .object(let top) = document else {
            throw ReferFormerError(.configuration, "the top level is \(document.typeName), not a JSON object of options")
        }
        var reader = OptionReader()
        let isReference = top["official_args"]?.isObject == true || top["model"]?.isObject == true
        if isReference {
            for (key, value) in top.sorted(by: { $0.key < $1.key }) {
                switch key {
                case "official_args", "model": reader.readOptions(value, path: key)
                case "backbone": reader.readBackboneSection(value, path: key)
                case "text": reader.readTextSection(value, path: key)
                case "description", "seed", "state_dict", "versions", "weights": break  // provenance only
                default: reader.unknown.append(key)
                }
            }
        } else {
            reader.readOptions(document, path: "")
        }
        self = try reader.finish()
    }
}

// MARK: - Option tables

/// opts.py options that do not change the network ReferStream runs (training, data, devices, losses,
/// dropout): accepted so that a checkpoint's `args` load as they are, and ignored.
private let optionsWithoutInferenceEffect: Set<String> = [
    "lr", "lr_backbone", "lr_backbone_names", "lr_text_encoder", "lr_text_encoder_names", "lr_linear_proj_names",
    "lr_linear_proj_mult", "batch_size", "weight_decay", "epochs", "lr_drop", "clip_max_norm", "pretrained_weights",
    "backbone_pretrained", "use_checkpoint", "dropout", "num_frames", "pre_norm", "freeze_text_encoder", "aux_loss",
    "set_cost_class", "set_cost_bbox", "set_cost_giou", "set_cost_mask", "set_cost_dice", "mask_loss_coef",
    "dice_loss_coef", "cls_loss_coef", "bbox_loss_coef", "giou_loss_coef", "eos_coef", "focal_alpha", "dataset_file",
    "coco_path", "ytvos_path", "davis_path", "a2d_path", "jhmdb_path", "max_skip", "max_size", "remove_difficult",
    "output_dir", "device", "seed", "resume", "start_epoch", "eval", "num_workers", "ngpu", "split", "visualize",
    "world_size", "dist_url", "cache_mode",
    // Added to `args` by util/misc.py init_distributed_mode during training.
    "rank", "gpu", "distributed", "dist_backend",
]

/// RobertaConfig keys without effect on the encoder's inference (or informational).
private let robertaKeysWithoutInferenceEffect: Set<String> = [
    "bos_token_id", "eos_token_id", "hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range",
    "architectures", "transformers_version", "classifier_dropout", "use_cache", "torch_dtype",
]

/// Collects options and problems; `finish()` builds the configuration or throws every problem at once.
private struct OptionReader {
    var configuration = ReferFormerConfiguration()
    var unknown: [String] = []
    var problems: [String] = []
    /// Where each architecture option was set, to report two sections that disagree.
    var setAt: [String: (path: String, value: ConfigurationValue)] = [:]
    /// Values of the model section's derived constants, checked once all options are known.
    var derived: [(path: String, key: String, value: ConfigurationValue)] = []
    var backboneFromSection = false

    func name(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The members of an object as (key, full dotted name, value), sorted by key; nil (with a problem
    /// recorded) when `value` is not an object.
    mutating func members(_ value: ConfigurationValue, path: String, _ what: String) -> [(key: String, full: String, value: ConfigurationValue)]? {
        guard case .object(let object) = value else {
            problems.append("\(path) is \(value.typeName), not \(what)")
            return nil
        }
        return object.keys.sorted().map { ($0, name(path, $0), object[$0]!) }
    }

    mutating func readOptions(_ value: ConfigurationValue, path: String) {
        guard let options = members(value, path: path, "an object of options") else { return }
        for (key, full, value) in options {
            switch key {
            case "hidden_dim": setInt(key, full, value) { c, v in c.hiddenDim = v }
            case "nheads": setInt(key, full, value) { c, v in c.nheads = v }
            case "enc_layers": setInt(key, full, value) { c, v in c.encLayers = v }
            case "dec_layers": setInt(key, full, value) { c, v in c.decLayers = v }
            case "dim_feedforward": setInt(key, full, value) { c, v in c.dimFeedforward = v }
            case "num_queries": setInt(key, full, value) { c, v in c.numQueries = v }
            case "num_feature_levels": setInt(key, full, value) { c, v in c.numFeatureLevels = v }
            case "enc_n_points": setInt(key, full, value) { c, v in c.encNPoints = v }
            case "dec_n_points": setInt(key, full, value) { c, v in c.decNPoints = v }
            case "mask_dim": setInt(key, full, value) { c, v in c.maskDim = v }
            case "controller_layers": setInt(key, full, value) { c, v in c.controllerLayers = v }
            case "dynamic_mask_channels": setInt(key, full, value) { c, v in c.dynamicMaskChannels = v }
            case "with_box_refine": setBool(key, full, value) { c, v in c.withBoxRefine = v }
            case "two_stage": setBool(key, full, value) { c, v in c.twoStage = v }
            case "masks": setBool(key, full, value) { c, v in c.masks = v }
            case "rel_coord": setBool(key, full, value) { c, v in c.relCoord = v }
            case "binary": setBool(key, full, value) { c, v in c.binary = v }
            case "backbone": readBackboneOption(value, path: full)
            case "text_encoder": readTextEncoder(value, path: full)
            // Provenance that tools/demo/export.py writes next to the options (iteration, minutes, input
            // size): informational, at the top level only.
            case "training" where path.isEmpty: break
            case "dilation":
                if bool(value, full) == true { problems.append("\(full) true (DC5) is not supported: the released models use dilation false") }
            case "position_embedding":
                if let text = string(value, full), text != "sine" {
                    problems.append("\(full) \"\(text)\" is not supported: ReferFormer uses the sine position embedding")
                }
            case "threshold":
                if let t = number(value, full), t != 0.5 {
                    problems.append("\(full) \(t): ReferStream binarises masks at sigmoid > 0.5, the official default")
                }
            // The model section's constants (hard-coded in the official code): checked in `finish`.
            case "num_classes", "mask_feat_stride", "mask_out_stride", "controller_weight_nums", "controller_bias_nums",
                 "controller_num_params", "fusion_nheads", "pixel_decoder_nheads", "pixel_decoder_sr_ratios",
                 "input_proj_groupnorm_groups", "pixel_decoder_groupnorm_groups", "resizer_layernorm_eps",
                 "layernorm_eps", "frozen_bn_eps", "inverse_sigmoid_eps", "position_num_pos_feats", "text_pos_num_pos_feats":
                derived.append((full, key, value))
            default:
                if !optionsWithoutInferenceEffect.contains(key) { unknown.append(full) }
            }
        }
    }

    /// Sets an architecture option; the same option given twice (official_args and model) must agree.
    mutating func setInt(_ key: String, _ full: String, _ value: ConfigurationValue,
                         _ apply: (inout ReferFormerConfiguration, Int) -> Void) {
        guard let v = integer(value, full), agrees(key, full, value) else { return }
        apply(&configuration, v)
    }

    mutating func setBool(_ key: String, _ full: String, _ value: ConfigurationValue,
                          _ apply: (inout ReferFormerConfiguration, Bool) -> Void) {
        guard let v = bool(value, full), agrees(key, full, value) else { return }
        apply(&configuration, v)
    }

    mutating func agrees(_ key: String, _ full: String, _ value: ConfigurationValue) -> Bool {
        if let earlier = setAt[key], earlier.value != value {
            problems.append("\(earlier.path) is \(earlier.value.text) but \(full) is \(value.text)")
            return false
        }
        setAt[key] = (full, value)
        return true
    }

    // MARK: Backbone

    /// The `backbone` option: an official name, or an explicit ResNet layout object.
    mutating func readBackboneOption(_ value: ConfigurationValue, path: String) {
        switch value {
        case .string(let name):
            // The backbone section (reference format) describes the network actually built; it wins
            // over the official name it stood in for (the tiny reference model replaced resnet50).
            if let preset = BackboneDescription(officialName: name) {
                if !backboneFromSection { configuration.backbone = preset }
            } else {
                problems.append("\(path) \"\(name)\" is not a known backbone: use resnet50, resnet101, "
                    + SwinDescription.officialPresets.map(\.name).joined(separator: ", ") + " or {\"layers\": [...], \"width_per_group\": n}")
            }
        case .object:
            readBackboneSection(value, path: path)
        default:
            problems.append("\(path) is \(value.typeName): give a name (\"resnet50\") or {\"layers\": [...], \"width_per_group\": n}")
        }
    }

    /// An explicit ResNet layout, with the reference data's descriptive keys checked against it.
    mutating func readBackboneSection(_ value: ConfigurationValue, path: String) {
        guard case .object(let section) = value else {
            problems.append("\(path) is \(value.typeName), not an object")
            return
        }
        let swinKeys: Set<String> = ["config", "strides", "official_real_configs", "embed_dim", "depths", "num_heads", "window_size", "patch_size"]
        let officialName = section["official_name"]?.stringValue
        if officialName.map(ReferFormerConfiguration.isSwinBackboneName) == true || section.keys.contains(where: swinKeys.contains) {
            readSwinSection(section, path: path, officialName: officialName)
            return
        }
        var layers: [Int]?
        var width = 64
        for (key, item) in section.sorted(by: { $0.key < $1.key }) {
            let full = name(path, key)
            switch key {
            case "layers": layers = integers(item, full)
            case "width_per_group": width = integer(item, full) ?? width
            case "type", "official_name": _ = string(item, full)  // descriptive
            case "bottleneck_widths", "out_channels", "stem_channels": break  // checked below
            default: unknown.append(full)
            }
        }
        guard let layers else {
            problems.append("\(path) has no \"layers\" (bottleneck blocks of layer1..layer4, e.g. [3, 4, 6, 3])")
            return
        }
        let backbone = BackboneDescription(layers: layers, widthPerGroup: width)
        func check(_ key: String, _ expected: ConfigurationValue, _ what: String) {
            guard let given = section[key], given != expected else { return }
            problems.append("\(name(path, key)) is \(given.text) but \(what) \(expected.text)")
        }
        check("bottleneck_widths", .array((0..<layers.count).map { .number(Double(backbone.width(stage: $0))) }),
              "width_per_group \(width) gives")
        check("out_channels", .array((0..<layers.count).map { .number(Double(backbone.outChannels(stage: $0))) }),
              "a ResNet with bottleneck blocks has")
        check("stem_channels", .number(Double(BackboneDescription.stemChannels)), "a ResNet stem has")
        configuration.backbone = backbone
        backboneFromSection = true
    }

    /// A Swin / Video-Swin backbone: the reference data's section (`official_name`, `config` with the
    /// official keyword arguments, descriptive keys checked or skipped) or the keyword arguments
    /// themselves. Video-Swin is recognised by its name or a 3-element `window_size`.
    mutating func readSwinSection(_ section: [String: ConfigurationValue], path: String, officialName: String?) {
        var arguments = section
        var descriptive: Set<String> = ["type", "official_name", "official_real_configs", "per_frame", "stage_output",
                                        "attention_scale", "shifted_window_mask_value", "strides", "out_channels", "layernorm_eps", "num_frames"]
        if case .object(let config)? = section["config"] {
            arguments = config
            descriptive.insert("config")
            for key in section.keys.sorted() where !descriptive.contains(key) { unknown.append(name(path, key)) }
        }
        let argumentsPath = section["config"] != nil ? name(path, "config") : path
        let preset = officialName.flatMap(SwinDescription.init(officialName:))
        var d = preset ?? SwinDescription.swinT
        var video = officialName.map { $0.contains("video_swin") } ?? false
        var window: [Int]?
        for (key, item) in arguments.sorted(by: { $0.key < $1.key }) {
            let full = name(argumentsPath, key)
            switch key {
            case "embed_dim": d.embedDim = integer(item, full) ?? d.embedDim
            case "depths": d.depths = integers(item, full) ?? d.depths
            case "num_heads": d.numHeads = integers(item, full) ?? d.numHeads
            case "window_size":
                if case .array = item { window = integers(item, full); video = true } else { window = integer(item, full).map { [$0] } }
            case "mlp_ratio": d.mlpRatio = number(item, full) ?? d.mlpRatio
            case "patch_norm": d.patchNorm = bool(item, full) ?? d.patchNorm
            case "patch_size":
                if case .array = item { d.patchSize = integers(item, full)?.last ?? d.patchSize } else { d.patchSize = integer(item, full) ?? d.patchSize }
            case "qkv_bias":
                if bool(item, full) == false { problems.append("\(full) false: the official backbones use qkv_bias true") }
            case "qk_scale":
                if item != .null { problems.append("\(full) \(item.text): the official backbones use the default head_dim^-0.5") }
            case "ape":
                if bool(item, full) == true { problems.append("\(full) true: the official backbones use no absolute position embedding") }
            case "out_indices":
                if integers(item, full) != [0, 1, 2, 3] { problems.append("\(full) \(item.text): ReferFormer uses the 4 stages [0, 1, 2, 3]") }
            case "in_chans":
                if integer(item, full) != 3 { problems.append("\(full) \(item.text): the backbone takes RGB frames (3)") }
            // Training-only (identities at eval) or bookkeeping.
            case "drop_rate", "attn_drop_rate", "drop_path_rate", "use_checkpoint", "frozen_stages", "pretrained", "pretrained2d":
                break
            default: unknown.append(full)
            }
        }
        d.video = video
        if case .bool(let perFrame)? = section["per_frame"], perFrame == video {
            problems.append("\(name(path, "per_frame")) is \(perFrame), but a \(video ? "Video-Swin" : "Swin") backbone is \(video ? "per clip" : "per frame")")
        }
        if let window { d.windowSize = window } else if preset == nil { d.windowSize = video ? [8, 7, 7] : [7] }
        problems += d.problems.map { "\(path): \($0)" }
        configuration.backbone = BackboneDescription(swin: d)
        backboneFromSection = true
    }

    // MARK: Text encoder

    /// The reference data's `text` section: `{"type": …, "config": {RobertaConfig}, "tokenizer": …}`.
    mutating func readTextSection(_ value: ConfigurationValue, path: String) {
        guard let section = members(value, path: path, "an object") else { return }
        for (key, full, item) in section {
            switch key {
            case "config": readTextEncoder(item, path: full)
            case "type", "tokenizer", "transformers_attn_implementation": _ = string(item, full)  // descriptive
            default: unknown.append(full)
            }
        }
    }

    /// RobertaConfig keys (HuggingFace's names, e.g. roberta-base's config.json); absent keys take
    /// roberta-base's values. `"roberta-base"` as a string means exactly roberta-base.
    mutating func readTextEncoder(_ value: ConfigurationValue, path: String) {
        if case .string(let text) = value {
            if text == "roberta-base" { configuration.textEncoder = .robertaBase }
            else { problems.append("\(path) \"\(text)\": only \"roberta-base\" or a RobertaConfig object is supported") }
            return
        }
        guard let keys = members(value, path: path, "a RobertaConfig object") else { return }
        var text = TextEncoderDescription.robertaBase
        var heads: Int?
        for (key, full, item) in keys {
            switch key {
            case "vocab_size": text.vocabSize = integer(item, full) ?? text.vocabSize
            case "hidden_size": text.hiddenSize = integer(item, full) ?? text.hiddenSize
            case "num_hidden_layers": text.numHiddenLayers = integer(item, full) ?? text.numHiddenLayers
            case "num_attention_heads": heads = integer(item, full)
            case "intermediate_size": text.intermediateSize = integer(item, full) ?? text.intermediateSize
            case "max_position_embeddings": text.maxPositionEmbeddings = integer(item, full) ?? text.maxPositionEmbeddings
            case "type_vocab_size": text.typeVocabSize = integer(item, full) ?? text.typeVocabSize
            case "pad_token_id": text.padTokenId = integer(item, full) ?? text.padTokenId
            case "layer_norm_eps": text.layerNormEps = number(item, full).map(Float.init) ?? text.layerNormEps
            case "hidden_act":
                if let act = string(item, full), act != "gelu" { problems.append("\(full) \"\(act)\": the text encoder implements gelu (RoBERTa's)") }
            case "position_embedding_type":
                if let kind = string(item, full), kind != "absolute" { problems.append("\(full) \"\(kind)\": only absolute positions (RoBERTa's) are implemented") }
            case "model_type":
                if let kind = string(item, full), kind != "roberta" { problems.append("\(full) \"\(kind)\": the text encoder is RoBERTa") }
            default:
                if !robertaKeysWithoutInferenceEffect.contains(key) { unknown.append(full) }
            }
        }
        // HuggingFace's head count is explicit; without it, roberta-base's 64-wide heads.
        text.numAttentionHeads = heads ?? max(1, text.hiddenSize / 64)
        configuration.textEncoder = text
    }

    // MARK: Values

    mutating func integer(_ value: ConfigurationValue, _ path: String) -> Int? {
        if case .number(let x) = value, x == x.rounded(), abs(x) < 1e15 { return Int(x) }
        problems.append("\(path) is \(value.text), not an integer")
        return nil
    }

    mutating func integers(_ value: ConfigurationValue, _ path: String) -> [Int]? {
        guard case .array(let items) = value else {
            problems.append("\(path) is \(value.text), not a list of integers")
            return nil
        }
        let values = items.compactMap { item -> Int? in
            if case .number(let x) = item, x == x.rounded(), abs(x) < 1e15 { return Int(x) }
            return nil
        }
        guard values.count == items.count else {
            problems.append("\(path) is \(value.text), not a list of integers")
            return nil
        }
        return values
    }

    mutating func number(_ value: ConfigurationValue, _ path: String) -> Double? {
        if case .number(let x) = value { return x }
        problems.append("\(path) is \(value.text), not a number")
        return nil
    }

    mutating func bool(_ value: ConfigurationValue, _ path: String) -> Bool? {
        if case .bool(let b) = value { return b }
        problems.append("\(path) is \(value.text), not true or false")
        return nil
    }

    mutating func string(_ value: ConfigurationValue, _ path: String) -> String? {
        if case .string(let s) = value { return s }
        problems.append("\(path) is \(value.text), not a string")
        return nil
    }

    // MARK: Result

    /// Checks the model section's constants against this implementation, then returns the
    /// configuration or throws every problem in one message.
    mutating func finish() throws(ReferFormerError) -> ReferFormerConfiguration {
        let c = configuration
        func ints(_ values: [Int]) -> ConfigurationValue { .array(values.map { .number(Double($0)) }) }
        let implemented: [String: ConfigurationValue] = [
            "num_classes": .number(Double(c.numClasses)),
            "mask_feat_stride": .number(4), "mask_out_stride": .number(4),
            "controller_weight_nums": ints(c.controllerWeightNums), "controller_bias_nums": ints(c.controllerBiasNums),
            "controller_num_params": .number(Double(c.controllerParameterCount)),
            "fusion_nheads": .number(Double(ReferFormerConfiguration.fusionHeads)), "pixel_decoder_nheads": .number(8),
            "pixel_decoder_sr_ratios": ints([8, 4, 2, 1]),
            "input_proj_groupnorm_groups": .number(Double(ReferFormerConfiguration.inputProjectionGroups)),
            "pixel_decoder_groupnorm_groups": .number(8),
            "resizer_layernorm_eps": .number(1e-12), "layernorm_eps": .number(1e-5), "frozen_bn_eps": .number(1e-5),
            "inverse_sigmoid_eps": .number(1e-5),
            "position_num_pos_feats": .number(Double(c.hiddenDim / 2)), "text_pos_num_pos_feats": .number(Double(c.hiddenDim)),
        ]
        for (path, key, value) in derived {
            guard let expected = implemented[key], expected != value else { continue }
            problems.append("\(path) is \(value.text) but this configuration implies \(expected.text) (hard-coded or derived in ReferFormer)")
        }
        var messages: [String] = []
        var seen: Set<String> = []
        problems = problems.filter { seen.insert($0).inserted }
        if !unknown.isEmpty {
            messages.append("unknown key\(unknown.count == 1 ? "" : "s") \(unknown.sorted().joined(separator: ", ")) "
                + "(not an official ReferFormer option; the accepted keys are in docs/model-config.md)")
        }
        messages += problems
        guard messages.isEmpty else { throw ReferFormerError(.configuration, messages.joined(separator: "; ")) }
        return c
    }
}

// MARK: - JSON values

/// A JSON value as decoded by any `Decoder` (numbers as Double, which holds every option exactly).
enum ConfigurationValue: Decodable, Equatable {
    case object([String: ConfigurationValue])
    case array([ConfigurationValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: ConfigurationValue] = [:]
            for key in object.allKeys { members[key.stringValue] = try object.decode(ConfigurationValue.self, forKey: key) }
            self = .object(members)
        } else if var list = try? decoder.unkeyedContainer() {
            var items: [ConfigurationValue] = []
            while !list.isAtEnd { items.append(try list.decode(ConfigurationValue.self)) }
            self = .array(items)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() { self = .null }
            else if let b = try? single.decode(Bool.self) { self = .bool(b) }
            else if let x = try? single.decode(Double.self) { self = .number(x) }
            else { self = .string(try single.decode(String.self)) }
        }
    }

    var isObject: Bool { if case .object = self { true } else { false } }
    var stringValue: String? { if case .string(let s) = self { s } else { nil } }

    var typeName: String {
        switch self {
        case .object: "an object"
        case .array: "a list"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// Compact JSON-like text for messages.
    var text: String {
        switch self {
        case .object(let members): "{" + members.keys.sorted().map { "\"\($0)\": …" }.joined(separator: ", ") + "}"
        case .array(let items): "[" + items.map(\.text).joined(separator: ", ") + "]"
        case .string(let s): "\"\(s)\""
        case .number(let x): x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
        case .bool(let b): String(b)
        case .null: "null"
        }
    }
}

// MARK: - Readable descriptions (configuration conflicts print these, one line each)

extension BackboneDescription: CustomStringConvertible {
    /// `resnet50 (layers: [3, 4, 6, 3], width_per_group: 64)` or `{layers: [2, 1, 1, 1], width_per_group: 8}`.
    public var description: String {
        if let swin { return swin.officialName.map { "\($0) \(swin)" } ?? "\(swin)" }
        let layout = "layers: \(layers), width_per_group: \(widthPerGroup)"
        return officialName.map { "\($0) (\(layout))" } ?? "{\(layout)}"
    }
}

extension TextEncoderDescription: CustomStringConvertible {
    /// The RobertaConfig keys, e.g. `{vocab_size: 50265, hidden_size: 768, …}`.
    public var description: String {
        "{vocab_size: \(vocabSize), hidden_size: \(hiddenSize), num_hidden_layers: \(numHiddenLayers), "
            + "num_attention_heads: \(numAttentionHeads), intermediate_size: \(intermediateSize), "
            + "max_position_embeddings: \(maxPositionEmbeddings), type_vocab_size: \(typeVocabSize), "
            + "layer_norm_eps: \(layerNormEps), pad_token_id: \(padTokenId)}"
    }
}
