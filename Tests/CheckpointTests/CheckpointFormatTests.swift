import Foundation
import Testing
@testable import Checkpoint

/// Recognising checkpoints by their first bytes, and saying what a file that is none looks like.
@Suite("CheckpointFormat: signatures and descriptions")
struct CheckpointFormatTests {
    @Test("the golden files are recognised by content, whatever their names", arguments: [
        ("checkpoint_zip.pth", CheckpointFormat.pyTorchZip), ("checkpoint_legacy.pth", .pyTorchLegacy),
        ("expected.safetensors", .safetensors),
    ])
    func golden(_ name: String, _ format: CheckpointFormat) throws {
        #expect(try CheckpointFormat(contentsOf: Support.fixture(name)) == format)
        // Renamed: still the same format.
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let renamed = directory.appendingPathComponent("model.bin")
        try Support.write(try Support.fixtureBytes(name), to: renamed)
        #expect(try CheckpointFormat(contentsOf: renamed) == format)
    }

    @Test("a file that is no checkpoint: unrecognizedFormat, with what it looks like", arguments: [
        ([0xFF, 0xD8, 0xFF, 0xE1, 0, 0, 0, 0, 0], "it is a JPEG image"),
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0], "it is a PNG image"),
        ([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0], "it is gzip-compressed: unpack it first"),
        (Array("  <html><body>Virus scan warning</body></html>".utf8), "it is an HTML page"),
        (Array("{\"hidden_dim\": 256}".utf8), "it is JSON text"),
        ([0, 0, 0, 0x20] + Array("ftypisom".utf8), "it is an MP4/QuickTime video"),
        ([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A], "it starts with bytes 01 02 03 04 05 06 07 08"),
    ] as [([UInt8], String)])
    func notACheckpoint(_ bytes: [UInt8], _ description: String) throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("weights.pth")
        try Support.write(bytes, to: url)
        do {
            _ = try CheckpointFormat(contentsOf: url)
            Issue.record("\(bytes) recognised as a checkpoint")
        } catch let error as CheckpointError {
            #expect(error.code == .unrecognizedFormat && error.file == url.path, "\(error)")
            #expect(error.message.hasPrefix("not a safetensors or PyTorch checkpoint (\(description)"), "\(error.message)")
        }
        // The safetensors reader, asked directly, says the same instead of decoding a header length.
        #expect(throws: CheckpointError.self) { try SafeTensors(contentsOf: url) }
        do { _ = try SafeTensors(contentsOf: url) } catch let error as CheckpointError {
            #expect(error.code == .unrecognizedFormat && !error.message.contains("header length"), "\(error)")
        }
    }

    @Test("a truncated safetensors file is still a safetensors file (the reader reports the truncation)")
    func truncatedSafetensors() throws {
        let bytes = try Support.fixtureBytes("expected.safetensors")
        #expect(CheckpointFormat(head: Array(bytes.prefix(64)), fileSize: 100) == .safetensors)
        #expect(CheckpointFormat(head: Array(bytes.prefix(8)), fileSize: 8) == nil)
    }
}
