import Foundation
import TestSupport
import ReferFormer
import Tensor
import Testing

/// The tool's tiny checkpoint fits the Swift model strictly (every key taken with its shape, nothing
/// unexpected) and runs the whole network, from the `.pth` (decoded copies or borrowed
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
        let model = try ReferFormerModel(configuration: configuration, weights: weights)  // strict
        let encoded = try model.encodeText(ids: [0, 282, 488, 987, 995, 2])
        // Two deterministic 64×96 frames in ImageNet-normalised range.
        let frames = Tensor(shape: [2, 3, 64, 96]) { buffer in
            for i in buffer.indices { buffer[i] = Float((i * 7919) % 1000) / 500 - 1 }
        }
        let output = try model.forward(features: model.backbone(frames), text: encoded, imageSize: (64, 96))
        return Outputs(logits: elements(output.predLogits), boxes: elements(output.predBoxes),
                       words: elements(encoded.wordFeatures) + elements(output.predMasks))
    }

    @Test("strict load and a forward pass from .pth and from safetensors, identical outputs")
    func forward() throws {
        let directory = try temporaryDirectory("model")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pth, reference) = try makeTinyCheckpoint(in: directory)
        let a = try Self.runModel(try StateDict(pyTorchAt: pth))
        let b = try Self.runModel(try StateDict(safetensorsAt: reference))
        #expect(a.logits.count == 2 * 5 && a.boxes.count == 2 * 5 * 4 && a.words.count == 6 * 64 + 2 * 5 * 16 * 24, "\(a.logits.count) logits, \(a.boxes.count) box values, \(a.words.count) word+mask values")
        #expect((a.logits + a.boxes + a.words).allSatisfy { $0.isFinite }, "non-finite outputs")
        #expect(a.boxes.allSatisfy { $0 >= 0 && $0 <= 1 }, "boxes outside [0, 1]: \(a.boxes)")
        #expect(a.logits == b.logits && a.boxes == b.boxes && a.words == b.words, "the two loads differ: \(a.logits) vs \(b.logits)")
    }
}
