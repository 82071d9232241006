import Foundation
import ReferFormer
import TestSupport
import Testing
import Tokenizer

/// `ReferFormer/ModelLoading.swift`: configuration files, weights with a configuration file, token ids.
@Suite("Model loading helpers")
struct ModelLoadingTests {
    @Test("token ids: the golden case's ids; empty, too long and out-of-vocabulary phrases are refused with what to do")
    func tokenIDs() throws {
        let model = try ReferFormerModel.load(weights: Fixtures.url("referformer-tiny/weights.safetensors"), configurationFile: nil)
        let tokenizer = try RobertaTokenizer(directory: Fixtures.url("tokenizer"))
        #expect(try model.tokenIDs("the man in the red jacket on the left", tokenizer: tokenizer) == [0, 262, 458, 280, 264, 415, 967, 303, 264, 319, 2])
        for (text, message) in [(" \t", "the phrase is empty"), (String(repeating: "word ", count: 600), "the phrase is too long")] {
            do {
                _ = try model.tokenIDs(text, tokenizer: tokenizer)
                Issue.record("accepted \(text.prefix(10))")
            } catch {
                #expect(error.code == .input && error.message.hasPrefix(message), "\(error)")
            }
        }
    }

    @Test("a configuration file is read; an unreadable or malformed one is one line naming the file")
    func configurationFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.json")
        try Data(#"{"hidden_dim": 128, "enc_layers": 3}"#.utf8).write(to: good)
        let c = try ReferFormerConfiguration.load(contentsOf: good)
        #expect(c.hiddenDim == 128 && c.encLayers == 3 && c.decLayers == 4)
        let bad = directory.appendingPathComponent("bad.json")
        try Data(#"{"hidden_dim": "wide"}"#.utf8).write(to: bad)
        do {
            _ = try ReferFormerConfiguration.load(contentsOf: bad)
            Issue.record("accepted a string hidden_dim")
        } catch {
            #expect(error.code == .configuration && error.message.hasPrefix("the model configuration \(bad.path) is not valid: hidden_dim") && !error.message.contains("\n"), "\(error)")
        }
        do {
            _ = try ReferFormerConfiguration.load(contentsOf: directory.appendingPathComponent("none.json"))
            Issue.record("read a missing file")
        } catch {
            #expect(error.code == .io && error.message.hasSuffix("none.json: it does not exist"), "\(error)")
        }
    }
}
