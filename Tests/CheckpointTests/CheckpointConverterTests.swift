import Foundation
import Testing
@testable import Checkpoint

@Suite("Checkpoint conversion .pth → safetensors")
struct CheckpointConverterTests {
    @Test("converted golden checkpoints equal expected.safetensors tensor by tensor, with a correct report",
          arguments: PyTorchCheckpointTests.files)
    func convertsGolden(file: String) throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("converted.safetensors")
        var calls: [(Int, Int)] = []
        let report = try CheckpointConverter.convert(pth: Support.fixture(file), to: output) { calls.append(($0, $1)) }
        let expected = try SafeTensors(contentsOf: Support.fixture("expected.safetensors"))
        let converted = try SafeTensors(contentsOf: output)
        #expect(report.tensorCount == 28 && converted.names.count == 28, "\(report)")
        #expect(report.sourceFormat == (file.contains("zip") ? .zip : .legacy))
        #expect(report.tensorBytes == expected.tensors.reduce(0) { $0 + $1.byteCount }, "\(report.tensorBytes)")
        #expect(report.fileBytes == (try FileManager.default.attributesOfItem(atPath: output.path)[.size] as? Int))
        #expect(report.skippedEntries.isEmpty)
        #expect(report.sharedStorage.contains(["transformer.decoder.bbox_embed.0.layers.0.weight", "bbox_embed.0.layers.0.weight"]), "\(report.sharedStorage)")
        #expect(report.sharedStorage.contains(["controller.layers.0.weight", "controller.layers.0.bias", "controller.layers.1.weight"]), "\(report.sharedStorage)")
        #expect(report.twins == [["transformer.decoder.bbox_embed.0.layers.0.weight", "bbox_embed.0.layers.0.weight"]], "\(report.twins)")
        #expect(calls.count == 28 && calls.last.map { $0 == (28, 28) } == true)
        #expect(converted.metadata == ["format": "pt"])
        // Data laid out by decreasing element size, state-dict order within each size: every tensor aligned.
        let stateDictOrder = try PyTorchCheckpoint(contentsOf: Support.fixture(file)).tensors
        let bySize = stateDictOrder.enumerated().sorted { (-$0.element.dtype.byteSize, $0.offset) < (-$1.element.dtype.byteSize, $1.offset) }
        #expect(converted.names == bySize.map(\.element.name), "\(converted.names)")
        #expect(converted.tensors.allSatisfy { $0.storage.isAligned(to: $0.dtype.byteSize) })
        for reference in expected.tensors {
            let ours = try converted.tensor(reference.name)
            #expect(ours.dtype == reference.dtype && ours.shape == reference.shape, "\(reference.name)")
            #expect(ours.contiguousBytes() == reference.contiguousBytes(), "\(reference.name)")
        }
    }

    @Test("the converted file reads identically in the Python safetensors package",
          .enabled(if: Support.pythonHasSafetensors, "needs REFERSTREAM_PYTHON with safetensors"))
    func pythonReadsConverted() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("converted.safetensors")
        try CheckpointConverter.convert(pth: Support.fixture("checkpoint_legacy.pth"), to: output)
        let script = """
        import sys, safetensors
        load = lambda p: {n: (t['dtype'], list(t['shape']), bytes(t['data'])) for n, t in safetensors.deserialize(open(p, 'rb').read())}
        a, b = load(sys.argv[1]), load(sys.argv[2])
        bad = [n for n in b if a.get(n) != b[n]] + [n for n in a if n not in b]
        print(len(a), len(b), ' '.join(bad) or 'identical')
        """
        let result = try Support.runPython(script, arguments: [output.path, Support.fixture("expected.safetensors").path])
        #expect(result.trimmingCharacters(in: .whitespacesAndNewlines) == "28 28 identical", "\(result)")
    }

    @Test("castFloatingPointToFloat32 writes F16/BF16/F64 as F32 equal to floats(); integers keep their dtype")
    func castToFloat32() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("f32.safetensors")
        try CheckpointConverter.convert(pth: Support.fixture("checkpoint_zip.pth"), to: output,
                                        options: .init(castFloatingPointToFloat32: true, metadata: [:]))
        let converted = try SafeTensors(contentsOf: output)
        let source = try PyTorchCheckpoint(contentsOf: Support.fixture("checkpoint_zip.pth"))
        #expect(converted.metadata.isEmpty)
        for record in source.tensors {
            let written = try converted.tensor(record.name)
            if record.dtype.isFloatingPoint {
                #expect(written.dtype == .float32, "\(record.name)")
                #expect(try written.floats().map(\.bitPattern) == record.floats().map(\.bitPattern), "\(record.name)")
            } else {
                #expect(written.dtype == record.dtype && written.contiguousBytes() == record.contiguousBytes(), "\(record.name)")
            }
        }
    }

    @Test("a corrupt source is an error naming it and leaves no output behind")
    func corruptSource() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("bad.pth")
        try Support.write(Array(try Support.fixtureBytes("checkpoint_legacy.pth").prefix(5000)), to: source)
        let output = directory.appendingPathComponent("out.safetensors")
        do {
            try CheckpointConverter.convert(pth: source, to: output)
            Issue.record("converting a truncated checkpoint succeeded")
        } catch let error as CheckpointError {
            #expect(error.file == source.path, "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["bad.pth"])
    }
}
