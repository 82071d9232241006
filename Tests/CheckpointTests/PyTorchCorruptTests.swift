import Foundation
import StrictJSON
import Testing
import TestSupport
@testable import Checkpoint

@Suite(".pth reader: other archive layouts, corrupt and truncated files")
struct PyTorchCorruptTests {
    /// Writes `bytes`, reads them; returns the error (nil on success, after touching every value).
    static func readError(_ bytes: [UInt8], in directory: URL, name: String = "case.pth") throws -> CheckpointError? {
        let url = directory.appendingPathComponent(name)
        try Support.write(bytes, to: url)
        do {
            let checkpoint = try PyTorchCheckpoint(contentsOf: url)
            for record in checkpoint.tensors { _ = record.contiguousBytes() }
            _ = PickleMachineTests.render(checkpoint.root)
            return nil
        } catch let error as CheckpointError {
            #expect(error.file == url.path && error.description.contains(url.path), "\(error)")
            return error
        }
    }

    static func expectMatchesGolden(_ checkpoint: PyTorchCheckpoint) throws {
        let expected = try SafeTensors(contentsOf: Support.fixture("expected.safetensors"))
        #expect(checkpoint.tensors.count == expected.tensors.count)
        for reference in expected.tensors {
            #expect(try checkpoint.tensor(reference.name).contiguousBytes() == reference.contiguousBytes(), "\(reference.name)")
        }
    }

    /// The golden zip's entries (name, bytes), read with the module's zip reader.
    static func goldenEntries() throws -> [(name: String, data: [UInt8])] {
        let bytes = try Support.fixtureBytes("checkpoint_zip.pth")
        let storage = StorageBytes(bytes)
        let archive = try ZipArchive(bytes: storage, file: "checkpoint_zip.pth")
        return try archive.entries.map { ($0.name, try archive.data(of: $0).bytes) }
    }

    @Test("a zip64 archive with another stem (archive/, a/b/model/) and other padding reads bit-exact",
          arguments: [("archive/", true, 64), ("a/b/model/", true, 16), ("archive/", false, 1)])
    func otherZipLayouts(stem: String, zip64: Bool, alignment: Int) throws {
        let entries = try Self.goldenEntries().map { entry in
            (name: stem + entry.name.dropFirst("checkpoint_zip/".count), data: entry.data)
        }
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("repacked.pth")
        try Support.write(TestZipWriter.archive(entries, zip64: zip64, alignment: alignment), to: url)
        let checkpoint = try PyTorchCheckpoint(contentsOf: url)
        #expect(checkpoint.format == .zip && checkpoint.value("epoch")?.intValue == 3)
        try Self.expectMatchesGolden(checkpoint)
    }

    @Test("the golden zip stores data 64-byte aligned via the local extra field, which the reader honours")
    func goldenZipAlignment() throws {
        let bytes = try Support.fixtureBytes("checkpoint_zip.pth")
        let archive = try ZipArchive(bytes: StorageBytes(bytes), file: "checkpoint_zip.pth")
        for entry in archive.entries where entry.name.contains("/data/") {
            let data = try archive.data(of: entry)
            #expect(data.offset % 64 == 0, "\(entry.name) at \(data.offset)")
        }
    }

    @Test("both files cut at ~150 points each: always a thrown error naming the file", arguments: PyTorchCheckpointTests.files)
    func truncated(file: String) throws {
        let bytes = try Support.fixtureBytes(file)
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var cuts = Array(stride(from: 0, to: bytes.count, by: 97)) + [bytes.count - 1, 1, 2, 22, 137, 6729]
        var random = SplitMix64(seed: UInt64(file.count))
        while cuts.count < 150 { cuts.append(random.below(bytes.count)) }
        for cut in cuts {
            #expect(try Self.readError(Array(bytes.prefix(cut)), in: directory) != nil, "\(file) cut at \(cut) was accepted")
        }
    }

    @Test("garbage files are errors")
    func garbage() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(seed: 99)
        for prefix: [UInt8] in [[], [0x80, 0x02], [0x50, 0x4B, 0x03, 0x04], [0x50, 0x4B, 0x05, 0x06]] {
            for length in [0, 3, 100, 5000] {
                #expect(try Self.readError(prefix + random.bytes(length), in: directory) != nil, "\(prefix) + \(length) random bytes")
            }
        }
    }

    @Test("corrupted pickle bytes: an invalid opcode in data.pkl / the main pickle names it")
    func corruptPickle() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var zipBytes = try Support.fixtureBytes("checkpoint_zip.pth")
        let archive = try ZipArchive(bytes: StorageBytes(zipBytes), file: "x")
        let pickle = try archive.data(of: try #require(archive.entry(named: "checkpoint_zip/data.pkl")))
        zipBytes[pickle.offset + 2] = 0xFF
        let zipError = try Self.readError(zipBytes, in: directory)
        #expect(zipError?.code == .invalidPickle && zipError?.key == "checkpoint_zip/data.pkl", "\(String(describing: zipError))")

        var legacy = try Support.fixtureBytes("checkpoint_legacy.pth")
        legacy[137 + 2] = 0xFF  // main_pickle_offset 137 (checkpoint.json), after PROTO 2
        let legacyError = try Self.readError(legacy, in: directory)
        #expect(legacyError?.code == .invalidPickle && legacyError?.key == "main pickle", "\(String(describing: legacyError))")

        var magic = try Support.fixtureBytes("checkpoint_legacy.pth")
        magic[4] ^= 0x01
        #expect(try Self.readError(magic, in: directory)?.message.contains("magic") == true)
    }

    @Test("zip: storages missing from the archive and compressed entries are errors naming the tensor / entry")
    func zipMissingAndCompressed() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Rename every "/data/" entry (local and central names) so that no storage can be found.
        var renamed = try Support.fixtureBytes("checkpoint_zip.pth")
        let needle = Array("checkpoint_zip/data/".utf8)
        for i in 0..<(renamed.count - needle.count) where Array(renamed[i..<(i + needle.count)]) == needle {
            renamed[i + needle.count - 2] = UInt8(ascii: "_")
        }
        let missing = try Self.readError(renamed, in: directory)
        #expect(missing?.code == .missingStorage && missing?.key == "backbone.0.body.conv1.weight", "\(String(describing: missing))")

        // Mark data.pkl as deflated in the central directory.
        var compressed = try Support.fixtureBytes("checkpoint_zip.pth")
        let name = Array("checkpoint_zip/data.pkl".utf8)
        let signature: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
        func isDataPickleEntry(_ i: Int) -> Bool {
            guard Array(compressed[i..<(i + 4)]) == signature, i + 46 + name.count <= compressed.count else { return false }
            return Array(compressed[(i + 46)..<(i + 46 + name.count)]) == name
        }
        let central = try #require((0..<(compressed.count - 46)).last(where: isDataPickleEntry))
        compressed[central + 10] = 8
        let error = try Self.readError(compressed, in: directory)
        #expect(error?.code == .unsupported && error?.key == "checkpoint_zip/data.pkl", "\(String(describing: error))")
    }

    /// The legacy file rebuilt from its parts with a chosen storage key list.
    static func legacyRebuilt(dropping dropped: Set<String>, adding extra: [String] = []) throws -> [UInt8] {
        let bytes = try Support.fixtureBytes("checkpoint_legacy.pth")
        guard let golden = try PyTorchCheckpointTests.goldenJSON().objectValue,
              let legacy = golden.first(where: { $0.key == "legacy_format" })?.value.objectValue,
              let mainEnd = legacy.first(where: { $0.key == "main_pickle_end" })?.value.intValue,
              let storages = legacy.first(where: { $0.key == "storages" })?.value.arrayValue else {
            throw Support.PythonFailure(message: "checkpoint.json lacks legacy_format")
        }
        var machine = PickleMachine(file: "legacy", context: "keys")
        let (_, keysEnd) = try bytes.withUnsafeBytes { try machine.run($0, from: mainEnd) }
        var cursor = keysEnd
        var kept: [(String, [UInt8])] = []
        for storage in storages {
            guard let key = storage["key"]?.stringValue, let nbytes = storage["nbytes"]?.intValue else { continue }
            let record = Array(bytes[cursor..<(cursor + 8 + nbytes)])
            cursor += 8 + nbytes
            if !dropped.contains(key) { kept.append((key, record)) }
        }
        #expect(cursor == bytes.count, "walked \(cursor) of \(bytes.count) bytes")
        var keyList: [UInt8] = [0x80, 0x02, 0x5D, 0x28]
        for key in kept.map(\.0) + extra {
            keyList += [0x58] + TestZipWriter.le32(key.utf8.count) + Array(key.utf8)
        }
        keyList += [0x65, 0x2E]
        return Array(bytes[..<mainEnd]) + keyList + kept.flatMap(\.1) + extra.flatMap { _ in [UInt8](repeating: 0, count: 8) }
    }

    @Test("legacy: a storage missing from the key list is an error naming the tensor; an unreferenced key too")
    func legacyMissingStorage() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Sanity: rebuilt with every storage it is the same checkpoint.
        let url = directory.appendingPathComponent("rebuilt.pth")
        try Support.write(try Self.legacyRebuilt(dropping: []), to: url)
        try Self.expectMatchesGolden(try PyTorchCheckpoint(contentsOf: url))

        // class_embed.0.bias is the only user of the 1-element HalfStorage 94612497911056.
        let error = try Self.readError(try Self.legacyRebuilt(dropping: ["94612497911056"]), in: directory)
        #expect(error?.code == .missingStorage && error?.key == "class_embed.0.bias", "\(String(describing: error))")

        let unreferenced = try Self.readError(try Self.legacyRebuilt(dropping: [], adding: ["123"]), in: directory)
        #expect(unreferenced?.code == .invalidPickle && unreferenced?.key == "123", "\(String(describing: unreferenced))")
    }

    @Test("fuzz: 300 mutated copies of each .pth never crash; accepted ones read fully", arguments: PyTorchCheckpointTests.files)
    func fuzz(file: String) throws {
        let original = try Support.fixtureBytes(file)
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(seed: 77 + UInt64(file.count))
        // Structure lives in the pickles (legacy: the first ~6.8 kB) and the zip headers (everywhere).
        let hot = file.contains("legacy") ? 6900 : original.count
        var rejected = 0
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<(1 + random.below(3)) {
                let position = random.below(hot)
                switch random.below(4) {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes[position] ^= UInt8(1 << random.below(8))
                case 2: bytes[position] = [0x00, 0x28, 0x2E, 0x52, 0x62, 0x68, 0x71, 0x75, 0x80, 0xFF][random.below(10)]
                default: bytes.remove(at: position)
                }
            }
            if try Self.readError(bytes, in: directory) != nil { rejected += 1 }
        }
        #expect(rejected > 0)
    }
}

@Suite(".pth files written by CPython's pickle and zipfile (scripts/make-large-checkpoint.py)")
struct ForeignWriterTests {
    @Test("legacy and zip checkpoints from another writer read bit-exact against safetensors written by Python",
          .enabled(if: Support.pythonHasSafetensors, "needs REFERSTREAM_PYTHON with numpy and safetensors"),
          arguments: [false, true])
    func foreignWriter(zip: Bool) throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pth = directory.appendingPathComponent(zip ? "small_zip.pth" : "small_legacy.pth")
        let reference = directory.appendingPathComponent("reference.safetensors")
        let script = Support.packageRoot.appendingPathComponent("scripts/make-large-checkpoint.py").path
        let run = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
        try Support.runPython(run, arguments: [script, pth.path, "--megabytes", "0.5", "--tensors", "40", "--expected", reference.path]
                              + (zip ? ["--zip"] : []))
        let checkpoint = try PyTorchCheckpoint(contentsOf: pth)
        let expected = try SafeTensors(contentsOf: reference)
        #expect(checkpoint.format == (zip ? .zip : .legacy))
        #expect(checkpoint.tensors.count == 40 && Set(checkpoint.names) == Set(expected.names))
        #expect(checkpoint.value("epoch")?.intValue == 3 && checkpoint.value("args")?["hidden_dim"]?.intValue == 256)
        for record in expected.tensors {
            #expect(try checkpoint.tensor(record.name).contiguousBytes() == record.contiguousBytes(), "\(record.name)")
        }
    }
}
