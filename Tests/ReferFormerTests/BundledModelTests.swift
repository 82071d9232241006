import Foundation
import ReferFormer
import TestSupport
import Testing

/// Where the model that runs without --weights / model.weights is found, and the input size it was
/// trained at (config.json's `training` note).
@Suite("Bundled model: search order and the trained input size")
struct BundledModelTests {
    /// A folder tree with empty stand-in files.
    func tree(_ files: [String]) throws -> URL {
        let root = try temporaryDirectory("bundled-model")
        for file in files {
            let url = root.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url)
        }
        return root
    }

    @Test("a source checkout: the build's executable finds models/demo of the repository it was built in")
    func sourceCheckout() throws {
        let root = try tree(["repo/Package.swift", "repo/models/demo/weights.safetensors", "repo/models/demo/vocab.json",
                             "repo/models/demo/config.json", "repo/.build/x86_64-unknown-linux-gnu/release/referstream"])
        defer { try? FileManager.default.removeItem(at: root) }
        let executable = root.appendingPathComponent("repo/.build/x86_64-unknown-linux-gnu/release/referstream")
        let found = try #require(BundledModel.locate(environment: [:], executable: executable))
        #expect(found.origin == "source checkout")
        #expect(found.directory.standardizedFileURL == root.appendingPathComponent("repo/models/demo").standardizedFileURL)
        // models/demo keeps the tokenizer files next to the weights, and has a config.json.
        #expect(found.tokenizer.standardizedFileURL == found.directory.standardizedFileURL)
        #expect(found.configuration?.lastPathComponent == "config.json")
    }

    @Test("explicit weights: tokenizer/ next to them holding tokenizer files, else their folder, else nil")
    func tokenizerNextToWeights() throws {
        let root = try tree(["a/w.safetensors", "a/tokenizer/vocab.json", "a/vocab.json",
                             "b/w.pth", "b/tokenizer.json", "b/tokenizer/readme.txt",
                             "c/w.safetensors", "c/merges.txt"])
        defer { try? FileManager.default.removeItem(at: root) }
        let path = { (name: String) in root.appendingPathComponent(name).path }
        #expect(BundledModel.tokenizerNextTo(weights: path("a/w.safetensors")) == path("a/tokenizer"))
        #expect(BundledModel.tokenizerNextTo(weights: path("b/w.pth")) == path("b"))
        #expect(BundledModel.tokenizerNextTo(weights: path("c/w.safetensors")) == nil)
    }

    @Test("make install's layout comes before a source checkout; tokenizer/ is used when present; no config.json is nil")
    func installedFirst() throws {
        let root = try tree(["repo/Package.swift", "repo/models/demo/weights.safetensors",
                             "repo/share/referstream/model/weights.safetensors", "repo/share/referstream/model/tokenizer/vocab.json"])
        defer { try? FileManager.default.removeItem(at: root) }
        let executable = root.appendingPathComponent("repo/bin/referstream")
        let found = try #require(BundledModel.locate(environment: [:], executable: executable))
        #expect(found.origin == "installed")
        #expect(found.tokenizer.lastPathComponent == "tokenizer")
        #expect(found.configuration == nil)
        // Without the installed weights the checkout's models/demo is next.
        try FileManager.default.removeItem(at: root.appendingPathComponent("repo/share/referstream/model/weights.safetensors"))
        #expect(BundledModel.locate(environment: [:], executable: executable)?.origin == "source checkout")
    }

    @Test("$REFERSTREAM_MODEL_DIR is the only place searched when set; nothing found is nil, with every place named")
    func environmentOverride() throws {
        let root = try tree(["other/weights.safetensors", "repo/Package.swift", "repo/models/demo/weights.safetensors"])
        defer { try? FileManager.default.removeItem(at: root) }
        let executable = root.appendingPathComponent("repo/.build/debug/referstream")
        let env = ["REFERSTREAM_MODEL_DIR": root.appendingPathComponent("other").path]
        #expect(BundledModel.locate(environment: env, executable: executable)?.origin == "$REFERSTREAM_MODEL_DIR")
        let empty = ["REFERSTREAM_MODEL_DIR": root.appendingPathComponent("missing").path]
        #expect(BundledModel.locate(environment: empty, executable: executable) == nil)
        #expect(BundledModel.searchedDescription(environment: empty, executable: executable)
                == root.appendingPathComponent("missing/weights.safetensors").path + " ($REFERSTREAM_MODEL_DIR)")
        // No checkout above and nothing installed.
        let lone = root.appendingPathComponent("elsewhere/bin/referstream")
        #expect(BundledModel.locate(environment: [:], executable: lone) == nil)
        #expect(BundledModel.searchedDescription(environment: [:], executable: lone).contains("share/referstream/model/weights.safetensors (installed)"))
    }

    @Test("the trained shorter side: min(input_height, input_width) of the training note; nil without one")
    func trainedShorterSide() throws {
        let root = try temporaryDirectory("trained-side")
        defer { try? FileManager.default.removeItem(at: root) }
        func side(_ json: String) throws -> Int? {
            let url = root.appendingPathComponent("config-\(UUID().uuidString).json")
            try Data(json.utf8).write(to: url)
            return ReferFormerConfiguration.trainedShorterSide(contentsOf: url)
        }
        #expect(try side(#"{"hidden_dim": 64, "training": {"input_height": 192, "input_width": 256}}"#) == 192)
        #expect(try side(#"{"training": {"input_height": 320, "input_width": 240}}"#) == 240)
        #expect(try side(#"{"hidden_dim": 64}"#) == nil)
        #expect(try side(#"{"training": {"input_height": 96.5, "input_width": 128}}"#) == nil)
        #expect(try side("not json") == nil)
        #expect(ReferFormerConfiguration.trainedShorterSide(contentsOf: root.appendingPathComponent("absent.json")) == nil)
        // The shipped demo model says what it was trained at, and its configuration still loads.
        let demo = Fixtures.packageRoot.appendingPathComponent("models/demo/config.json")
        let data = try Data(contentsOf: demo)
        let note = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["training"] as? [String: Any])
        let expected = min(try #require(note["input_height"] as? Int), try #require(note["input_width"] as? Int))
        #expect(ReferFormerConfiguration.trainedShorterSide(contentsOf: demo) == expected)
        _ = try ReferFormerConfiguration(contentsOf: demo)
    }
}
