import Foundation
import ReferFormer
import Tensor
import Testing

/// The tool's tiny checkpoint fits the Swift model strictly (every key taken with its shape, nothing
/// unexpected besides the parts not built yet) and runs, from the `.pth` (decoded copies or borrowed
/// storages, depending on the file's alignment) and from safetensors (borrowed read-only storages): both
/// loads must give bit-identical outputs, all finite.
@Suite("ReferFormer on the tool's checkpoint", .serialized, .enabled(if: testPython != nil, "needs REFERSTREAM_PYTHON or .venv with numpy"))
struct ModelOnToolCheckpointTests {
    struct Outputs {
        var logits: [Float]
        var boxes: [Float]
        var words: [Float]
    }

    static func elements(_ tensor: Tensor) -> [Float] { StateDictLoadingTests.values(tensor) }

    static func runModel(_ weights: StateDict) throws -> Outputs {
        let configuration = try ReferFormerConfiguration.inferred(fromShapes: weights.shapes)
        let detector = try ReferFormerDetector(configuration: configuration, weights: weights)
        let roberta = try #require(RobertaConfiguration.inferred(from: weights.shapes), "no RoBERTa configuration from the shapes")
        let textEncoder = TextEncoder(weights, roberta: roberta, hiddenDim: configuration.hiddenDim)
        // Not assembled by this module yet (pixel decoder, dynamic mask head): allowed to stay unused.
        weights.allowUnused { $0.hasPrefix("pixel_decoder.") || $0.hasPrefix("controller.") }
        try weights.finish()

        let encoded = textEncoder(ids: [0, 282, 488, 987, 995, 2])
        let text = TextFeatures(wordFeatures: encoded.wordFeatures, sentenceFeature: encoded.sentenceFeature)
        // Two deterministic 64×96 frames in ImageNet-normalised range.
        let frames = Tensor(shape: [2, 3, 64, 96]) { buffer in
            for i in buffer.indices { buffer[i] = Float((i * 7919) % 1000) / 500 - 1 }
        }
        let (_, decoded) = detector.run(detector.backbone(frames), text: text)
        return Outputs(logits: elements(decoded.logits.last!), boxes: elements(decoded.boxes.last!),
                       words: elements(encoded.wordFeatures))
    }

    @Test("strict load and a forward pass from .pth and from safetensors, identical outputs")
    func forward() throws {
        let directory = try temporaryDirectory("model")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pth = directory.appendingPathComponent("tiny.pth"), reference = directory.appendingPathComponent("tiny.safetensors")
        let python = try #require(testPython)
        let made = try run(python, [packageRoot.appendingPathComponent("tools/make_random_checkpoint.py").path, pth.path, "--tiny",
                                    "--expected", reference.path])
        #expect(made.status == 0, "\(made)")
        let a = try Self.runModel(try StateDict(pyTorchAt: pth))
        let b = try Self.runModel(try StateDict(safetensorsAt: reference))
        #expect(a.logits.count == 2 * 5 && a.boxes.count == 2 * 5 * 4, "\(a.logits.count) logits, \(a.boxes.count) box values")
        #expect((a.logits + a.boxes + a.words).allSatisfy { $0.isFinite }, "non-finite outputs")
        #expect(a.boxes.allSatisfy { $0 >= 0 && $0 <= 1 }, "boxes outside [0, 1]: \(a.boxes)")
        #expect(a.logits == b.logits && a.boxes == b.boxes && a.words == b.words, "the two loads differ: \(a.logits) vs \(b.logits)")
    }
}
