import Foundation
import ReferFormer
import TestSupport
import Testing

/// `ReferFormer/ModelLoading.swift`: weights with an optional configuration file.
@Suite("Model loading helpers")
struct ModelLoadingTests {
    @Test("weights with a configuration file: the file's values are checked against the weights; file errors are one line")
    func configurationFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = Fixtures.url("referformer-tiny/weights.safetensors")
        let model = try ReferFormerModel.load(weights: weights, configurationFile: Fixtures.url("referformer-tiny/config.json"))
        #expect(model.configuration.hiddenDim == 64 && model.configuration.encLayers == 2)
        let conflicting = directory.appendingPathComponent("wide.json")
        try Data(#"{"hidden_dim": 128}"#.utf8).write(to: conflicting)
        do {
            _ = try ReferFormerModel.load(weights: weights, configurationFile: conflicting)
            Issue.record("a hidden_dim conflicting with the weights was accepted")
        } catch {
            #expect(error.code == .configuration && error.message.contains("128") && error.message.contains("64") && !error.message.contains("\n"), "\(error)")
        }
        do {
            _ = try ReferFormerModel.load(weights: weights, configurationFile: directory.appendingPathComponent("none.json"))
            Issue.record("read a missing file")
        } catch {
            #expect(error.code == .io && error.message.hasPrefix("cannot read the model configuration \(directory.path)/none.json"), "\(error)")
        }
    }
}
