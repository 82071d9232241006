import Checkpoint
import Foundation
import TestSupport
import Testing

/// Model files as a new user finds them — configuration files in the reference-data and official
/// formats, wrong files given as weights, Swin checkpoints, tokenizers that do not fit the weights —
/// through the built binary: exit status and the one line it prints.
@Suite("referstream with the model files a new user has")
struct ModelFilesTests {
    static let weights = fixture("referformer-tiny/weights.safetensors")
    static let tokenizer = fixture("tokenizer")
    static let frames = fixture("referformer-tiny/case_2.safetensors")
    static let goldenConfig = fixture("referformer-tiny/config.json")

    /// `infer` on the case_2 frames with `extra` arguments; the output goes to `directory/out.safetensors`.
    static func infer(_ extra: [String], weights: URL = weights, tokenizer: URL = tokenizer, caption: String = "a small brown dog",
                      in directory: URL) throws -> CommandResult {
        try runReferstream(["infer", "--weights", weights.path, "--tokenizer", tokenizer.path, "--frames", frames.path,
                            "--frames-key", "input.frames", "--caption", caption,
                            "--output", directory.appendingPathComponent("out.safetensors").path] + extra)
    }

    /// Exit status 1 and exactly one stderr line, `error: …`, containing every `parts`.
    static func expectOneErrorLine(_ result: CommandResult, _ parts: [String], _ comment: String = "") {
        #expect(result.status == 1, "\(comment) \(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.hasPrefix("error: ") == true, "\(comment) \(result.stderr)")
        for part in parts { #expect(result.stderr.contains(part), "\(comment) missing '\(part)' in: \(result.stderr)") }
        #expect(!result.stderr.contains("Description(") && !result.stderr.contains("DecodingError") && !result.stderr.contains("NSCocoaErrorDomain"),
                "\(comment) Swift dump in: \(result.stderr)")
    }

    static func jsonObject(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func writeJSON(_ object: Any, _ url: URL) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
    }

    // MARK: --model-config

    @Test("the reference data's config.json is accepted as it is, and the outputs match the golden ones")
    func goldenConfigAccepted() throws {
        let directory = try temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let golden = try SafeTensors(contentsOf: Self.frames)
        let meta = try Self.jsonObject(fixture("referformer-tiny/case_2.json"))
        let caption = try #require(meta["caption"] as? String)
        let result = try Self.infer(["--model-config", Self.goldenConfig.path], caption: caption, in: directory)
        #expect(result.status == 0, "\(result)")
        let produced = try SafeTensors(contentsOf: directory.appendingPathComponent("out.safetensors"))
        #expect(try produced.tensor("post.query_index").int64s() == golden.tensor("post.query_index").int64s())
        for key in ["output.pred_logits", "output.pred_boxes"] {
            let x = try produced.tensor(key).floats(), y = try golden.tensor(key).floats()
            let rms = (y.reduce(0) { $0 + Double($1) * Double($1) } / Double(y.count)).squareRoot()
            let worst = zip(x, y).map { abs(Double($0) - Double($1)) }.max() ?? .infinity
            #expect(x.count == y.count && worst <= 1e-4 * rms, "\(key): max|Δ| \(worst), rms \(rms)")
        }
    }

    @Test("a checkpoint's official training options, with the backbone and text encoder it was built with, are accepted")
    func officialOptionsAccepted() throws {
        let directory = try temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let golden = try Self.jsonObject(Self.goldenConfig)
        var options = try #require(golden["official_args"] as? [String: Any])
        #expect(options.count == 75 && options["lr_drop"] != nil && options["set_cost_dice"] != nil, "\(options.keys.sorted())")
        options["backbone"] = ["layers": [2, 1, 1, 1], "width_per_group": 8]
        options["text_encoder"] = (golden["text"] as? [String: Any])?["config"]
        let file = directory.appendingPathComponent("args.json")
        try Self.writeJSON(options, file)
        let result = try Self.infer(["--model-config", file.path], in: directory)
        #expect(result.status == 0, "\(result)")
    }

    @Test("a configuration that contradicts the weights is one readable line, no Swift structure dump")
    func conflictIsReadable() throws {
        let directory = try temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The official options alone: resnet50 and roberta-base, but the tiny weights are narrower.
        let file = directory.appendingPathComponent("args.json")
        let golden = try Self.jsonObject(Self.goldenConfig)
        try Self.writeJSON(try #require(golden["official_args"]), file)
        let result = try Self.infer(["--model-config", file.path], in: directory)
        Self.expectOneErrorLine(result, [
            "the configuration contradicts the weights",
            "backbone: configuration resnet50 (layers: [3, 4, 6, 3], width_per_group: 64), weights {layers: [2, 1, 1, 1], width_per_group: 8}",
            "text_encoder: configuration {vocab_size: 50265,", "weights {vocab_size: 1000, hidden_size: 768, num_hidden_layers: 1,",
        ])
    }

    @Test("unknown keys are refused with their names, in both formats")
    func unknownKeys() throws {
        let directory = try temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let flat = directory.appendingPathComponent("flat.json")
        try Self.writeJSON(["hidden_dim": 64, "hiden_dim": 64, "enc_layer": 2], flat)
        Self.expectOneErrorLine(try Self.infer(["--model-config", flat.path], in: directory), [
            "the model configuration \(flat.path): unknown keys enc_layer, hiden_dim (not an official ReferFormer option",
            "docs/model-config.md",
        ], "flat")

        var golden = try Self.jsonObject(Self.goldenConfig)
        var model = try #require(golden["model"] as? [String: Any])
        model["decoder_layers"] = 2
        golden["model"] = model
        var text = try #require(golden["text"] as? [String: Any])
        var config = try #require(text["config"] as? [String: Any])
        config["vocabulary"] = 1000
        text["config"] = config
        golden["text"] = text
        golden["notes"] = "x"
        let reference = directory.appendingPathComponent("reference.json")
        try Self.writeJSON(golden, reference)
        Self.expectOneErrorLine(try Self.infer(["--model-config", reference.path], in: directory), [
            "unknown keys model.decoder_layers, notes, text.config.vocabulary (",
        ], "reference")
    }

    @Test("wrong types, disagreeing sections, unsupported values and broken JSON are named", arguments: [
        (#"{"hidden_dim": "64"}"#, "hidden_dim is \"64\", not an integer"),
        (#"{"with_box_refine": 1}"#, "with_box_refine is 1, not true or false"),
        (#"{"official_args": {"hidden_dim": 64}, "model": {"hidden_dim": 128}}"#, "model.hidden_dim is 128 but official_args.hidden_dim is 64"),
        (#"{"dilation": true}"#, "dilation true (DC5) is not supported"),
        (#"{"position_embedding": "learned"}"#, "position_embedding \"learned\" is not supported"),
        (#"{"model": {"fusion_nheads": 4}}"#, "model.fusion_nheads is 4 but this configuration implies 8"),
        (#"{"backbone": "resnet34"}"#, "backbone \"resnet34\" is not a known backbone"),
        (#"{"hidden_dim": 64,"#, "is not valid JSON"),
        (#"[1, 2]"#, "the top level is a list, not a JSON object of options"),
    ])
    func badValues(_ json: String, _ message: String) throws {
        let directory = try temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("config.json")
        try Data(json.utf8).write(to: file)
        Self.expectOneErrorLine(try Self.infer(["--model-config", file.path], in: directory), [message], json)
    }

    @Test("the Swin reference config.json is refused as a Swin backbone, once")
    func swinConfig() throws {
        let directory = try temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.infer(["--model-config", fixture("swin/swin_config.json").path], in: directory)
        Self.expectOneErrorLine(result, ["Swin backbone not supported yet (ResNet-50/101 checkpoints load)", "swin_t_p4w7"])
        #expect(result.stderr.components(separatedBy: "not supported yet").count == 2, "\(result.stderr)")
    }

    // MARK: --weights

    /// The tiny state dict with its `backbone.*` keys replaced by an overlay's keys (zeros of the
    /// overlay's dtypes and shapes; the other overlay keys replace the tiny ones of the same name).
    static func swinCheckpoint(_ overlay: String, in directory: URL) throws -> URL {
        let list = try Self.jsonObject(fixture("swin/\(overlay)_overlay_keys.json"))
        let keys = try #require(list["keys"] as? [String: [String: Any]])
        var items: [SafeTensors.Item] = []
        for (name, entry) in keys.sorted(by: { $0.key < $1.key }) {
            let dtypeName = try #require(entry["dtype"] as? String)
            let dtype = try #require(DType(rawValue: dtypeName))
            let shape = try #require(entry["shape"] as? [Int])
            items.append(SafeTensors.Item(name: name, dtype: dtype, shape: shape,
                                          bytes: [UInt8](repeating: 0, count: shape.reduce(1, *) * dtype.byteSize)))
        }
        let base = try SafeTensors(contentsOf: Self.weights)
        for record in base.tensors where !record.name.hasPrefix("backbone.") && keys[record.name] == nil {
            items.append(SafeTensors.Item(record))
        }
        let url = directory.appendingPathComponent("\(overlay).safetensors")
        try SafeTensors.write(items, to: url)
        return url
    }

    @Test("Swin and Video-Swin checkpoints: 'Swin backbone not supported yet', not a list of missing keys",
          arguments: [("swin", "Swin"), ("videoswin", "Video-Swin")])
    func swinWeights(_ overlay: String, _ kind: String) throws {
        let directory = try temporaryDirectory("swin")
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = try Self.swinCheckpoint(overlay, in: directory)
        let result = try Self.infer([], weights: weights, in: directory)
        Self.expectOneErrorLine(result, [
            "these weights have a \(kind) backbone (backbone.0.body.layers.0.", "Swin backbone not supported yet (ResNet-50/101 checkpoints load)",
        ])
        #expect(!result.stderr.contains("missing"), "\(result.stderr)")
    }

    @Test("a file that is no checkpoint: what it is, instead of a header length", arguments: [
        ([0xFF, 0xD8, 0xFF, 0xE0] + Array("JFIF padding padding".utf8), "it is a JPEG image"),
        (Array("<!DOCTYPE html><html><head><title>Google Drive</title>".utf8), "it is an HTML page"),
        (Array("version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 123\n".utf8), "it is a Git LFS pointer"),
        (Array("hello, this is not a model at all\n".utf8), "it is text"),
        ([UInt8](), "the file is empty"),
    ] as [([UInt8], String)])
    func notACheckpoint(_ bytes: [UInt8], _ what: String) throws {
        let directory = try temporaryDirectory("weights")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("r50_refytvos_joint.pth")
        try Data(bytes).write(to: file)
        let result = try Self.infer([], weights: file, in: directory)
        Self.expectOneErrorLine(result, ["\(file.path) is not a safetensors or PyTorch checkpoint (\(what)", "give the official .pth file"])
        #expect(!result.stderr.contains("header length"), "\(result.stderr)")
        // convert says the same about its input.
        let converted = try runReferstream(["convert", file.path, directory.appendingPathComponent("out.safetensors").path])
        Self.expectOneErrorLine(converted, ["\(file.path) is not a safetensors or PyTorch checkpoint (\(what)"], "convert")
    }

    // MARK: Tokenizer against the text embedding

    /// The golden tokenizer with `extra` more tokens (ids 1000…), merges unchanged.
    static func largerTokenizer(extra: Int, in directory: URL) throws -> URL {
        let data = try Data(contentsOf: Self.tokenizer.appendingPathComponent("vocab.json"))
        var vocabulary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Int])
        let size = vocabulary.count
        for i in 0..<extra { vocabulary["extratoken\(i)"] = size + i }
        let folder = directory.appendingPathComponent("tokenizer")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: vocabulary).write(to: folder.appendingPathComponent("vocab.json"))
        try FileManager.default.copyItem(at: Self.tokenizer.appendingPathComponent("merges.txt"), to: folder.appendingPathComponent("merges.txt"))
        return folder
    }

    /// The tiny weights with `rows` rows in the word embedding (the first 1000 unchanged, zeros after).
    static func widerEmbedding(rows: Int, in directory: URL) throws -> URL {
        let key = "text_encoder.embeddings.word_embeddings.weight"
        let base = try SafeTensors(contentsOf: Self.weights)
        var items: [SafeTensors.Item] = []
        for record in base.tensors {
            if record.name == key {
                let bytes = record.contiguousBytes()
                let width = record.shape[1]
                items.append(SafeTensors.Item(name: key, dtype: record.dtype, shape: [rows, width],
                                              bytes: bytes + [UInt8](repeating: 0, count: (rows - record.shape[0]) * width * record.dtype.byteSize)))
            } else {
                items.append(SafeTensors.Item(record))
            }
        }
        let url = directory.appendingPathComponent("wide.safetensors")
        try SafeTensors.write(items, to: url)
        return url
    }

    @Test("a tokenizer with more ids than the embedding has rows is refused (infer and tokenize --weights)")
    func tokenizerTooLarge() throws {
        let directory = try temporaryDirectory("vocab")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenizer = try Self.largerTokenizer(extra: 200, in: directory)
        let message = "the tokenizer has 1200 ids but the model's text embedding has only 1000 rows, so ids 1000…1199 have no embedding"
        let inferred = try Self.infer([], tokenizer: tokenizer, in: directory)
        #expect(inferred.status == 1, "\(inferred)")
        #expect(inferred.stderr.split(separator: "\n").last.map { $0.hasPrefix("error: \(message)") } == true, "\(inferred.stderr)")
        #expect(inferred.stderr.contains("roberta-base's vocab.json + merges.txt"), "\(inferred.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.safetensors").path))
        let tokenized = try runReferstream(["tokenize", "--tokenizer", tokenizer.path, "--weights", Self.weights.path, "a dog"])
        Self.expectOneErrorLine(tokenized, [message], "tokenize")
        #expect(tokenized.stdout.isEmpty)
    }

    @Test("a tokenizer smaller than the embedding (golden 1000 ids, 1200-row model) runs with a warning")
    func tokenizerSmaller() throws {
        let directory = try temporaryDirectory("vocab")
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = try Self.widerEmbedding(rows: 1200, in: directory)
        let warning = "warning: the tokenizer has 1000 ids but the model's text embedding has 1200 rows: they are probably not the same vocabulary"
        let inferred = try Self.infer([], weights: weights, in: directory)
        #expect(inferred.status == 0, "\(inferred)")
        #expect(inferred.stderr.contains(warning), "\(inferred.stderr)")
        let plain = try runReferstream(["tokenize", "--tokenizer", Self.tokenizer.path, "the dog"])
        let checked = try runReferstream(["tokenize", "--tokenizer", Self.tokenizer.path, "--weights", weights.path, "the dog"])
        #expect(checked.status == 0 && checked.stderr.contains(warning), "\(checked)")
        #expect(checked.stdout == plain.stdout && plain.stdout.contains(#""ids":[0,262,503,2]"#), "\(checked.stdout) vs \(plain.stdout)")
        // The matching pair says nothing.
        let matching = try runReferstream(["tokenize", "--tokenizer", Self.tokenizer.path, "--weights", Self.weights.path, "the dog"])
        #expect(matching.status == 0 && matching.stderr.isEmpty, "\(matching)")
    }
}
