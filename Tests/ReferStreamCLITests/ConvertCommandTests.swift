import Checkpoint
import Foundation
import TestSupport
import Testing

/// `referstream convert` on the golden checkpoints (Tests/Fixtures/checkpoint/, written by PyTorch 2.15):
/// the produced safetensors must hold exactly the tensors of expected.safetensors (written by the Python
/// safetensors package), byte for byte, in state-dict order.
@Suite("referstream convert", .serialized)
struct ConvertCommandTests {
    static func expectSameTensors(_ produced: SafeTensors, _ expected: SafeTensors, castToFloat32: Bool = false) throws {
        #expect(Set(produced.names) == Set(expected.names), "names \(produced.names) vs \(expected.names)")
        for reference in expected.tensors {
            let mine = try #require(produced[reference.name], "\(reference.name) missing")
            #expect(mine.shape == reference.shape, "\(reference.name): shape \(mine.shape), expected \(reference.shape)")
            if castToFloat32 && reference.dtype.isFloatingPoint {
                #expect(mine.dtype == .float32, "\(reference.name): \(mine.dtype)")
                let a = try mine.floats(), b = try reference.floats()
                // Exact widening (F16/BF16) or rounding (F64) of the same values; NaN-aware equality.
                let equal = a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                #expect(equal, "\(reference.name): \(a.prefix(8)) vs \(b.prefix(8))")
            } else {
                #expect(mine.dtype == reference.dtype, "\(reference.name): dtype \(mine.dtype), expected \(reference.dtype)")
                #expect(mine.contiguousBytes() == reference.contiguousBytes(), "\(reference.name): bytes differ")
            }
        }
    }

    @Test("legacy and zip golden checkpoints convert to the expected tensors, with the key report",
          arguments: ["checkpoint_legacy.pth", "checkpoint_zip.pth"])
    func convertGolden(file: String) throws {
        let directory = try temporaryDirectory("convert")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.safetensors")
        let input = fixture("checkpoint").appendingPathComponent(file)
        let result = try runReferstream(["convert", input.path, output.path])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.isEmpty, "no progress line when stderr is not a terminal: \(result)")
        let produced = try SafeTensors(contentsOf: output)
        let expected = try SafeTensors(contentsOf: fixture("checkpoint/expected.safetensors"))
        try Self.expectSameTensors(produced, expected)
        // Every model key of checkpoint.json is there (the writer groups data by element size for
        // alignment, so the file order is not the state-dict order).
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture("checkpoint/checkpoint.json"))) as? [String: Any]
        let order = (json?["model_keys"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
        #expect(order.count == 28 && produced.names.sorted() == order.sorted(), "keys \(produced.names)")

        let fileBytes = try FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber
        let tensorBytes = expected.tensors.reduce(0) { $0 + $1.byteCount }
        let format = file.contains("zip") ? "zip" : "legacy"
        let expectedReport = """
            converted \(input.path) (\(format) format) to \(output.path)
            tensors: 28
            tensor bytes: \(tensorBytes)
            file bytes: \(fileBytes?.intValue ?? -1)
            skipped non-tensor entries: 0
            shared-storage groups: 2 (each key written as its own copy)
              transformer.decoder.bbox_embed.0.layers.0.weight = bbox_embed.0.layers.0.weight
              controller.layers.0.weight = controller.layers.0.bias = controller.layers.1.weight

            """
        #expect(result.stdout == expectedReport, "\(result.stdout)")
    }

    @Test("--float32 widens F16/BF16 and rounds F64, keeps integer tensors")
    func float32() throws {
        let directory = try temporaryDirectory("convert32")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.safetensors")
        let result = try runReferstream(["convert", fixture("checkpoint/checkpoint_legacy.pth").path, output.path, "--float32"])
        #expect(result.status == 0, "\(result)")
        try Self.expectSameTensors(try SafeTensors(contentsOf: output),
                                   try SafeTensors(contentsOf: fixture("checkpoint/expected.safetensors")), castToFloat32: true)
    }

    @Test("missing, truncated and corrupt inputs: one error line, status 1, no output left behind")
    func errors() throws {
        let directory = try temporaryDirectory("convert-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.safetensors")

        let missing = try runReferstream(["convert", directory.appendingPathComponent("none.pth").path, output.path])
        #expect(missing.status == 1 && missing.stderr == "error: \(directory.path)/none.pth does not exist\n", "\(missing)")

        let original = try Data(contentsOf: fixture("checkpoint/checkpoint_legacy.pth"))
        let truncated = directory.appendingPathComponent("truncated.pth")
        try original.prefix(3000).write(to: truncated)
        let cut = try runReferstream(["convert", truncated.path, output.path])
        #expect(cut.status == 1 && cut.stdout.isEmpty, "\(cut)")
        #expect(cut.stderr == "error: cannot convert \(truncated.path): the pickle ends without STOP (at byte 3000)\n", "\(cut)")
        #expect(!FileManager.default.fileExists(atPath: output.path))

        let garbage = directory.appendingPathComponent("garbage.pth")
        try Data("this is not a checkpoint".utf8).write(to: garbage)
        let bad = try runReferstream(["convert", garbage.path, output.path])
        #expect(bad.status == 1 && bad.stderr == "error: \(garbage.path) is not a safetensors or PyTorch checkpoint (it is text): "
                + "convert reads an official ReferFormer .pth file\n", "\(bad)")
        #expect(!FileManager.default.fileExists(atPath: output.path))

        let same = try runReferstream(["convert", garbage.path, garbage.path])
        #expect(same.status == 64 && same.stderr.contains("the output must not be the input file"), "\(same)")
    }
}
