import Foundation
import Testing
import TestSupport
@testable import Checkpoint

@Suite("safetensors: corrupt and truncated files are thrown errors naming the file")
struct SafeTensorsCorruptTests {
    /// A file made of an explicit header length, header text and data bytes.
    static func file(header: String, declaredLength: UInt64? = nil, data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        var length = (declaredLength ?? UInt64(json.count)).littleEndian
        return withUnsafeBytes(of: &length) { Array($0) } + json + data
    }

    /// Writes `bytes`, reads them, and returns the error (nil when the read succeeded).
    static func readError(_ bytes: [UInt8], in directory: URL, name: String = "case.safetensors") throws -> CheckpointError? {
        let url = directory.appendingPathComponent(name)
        try Support.write(bytes, to: url)
        do {
            let file = try SafeTensors(contentsOf: url)
            for record in file.tensors { _ = record.contiguousBytes() }
            return nil
        } catch let error as CheckpointError {
            #expect(error.file == url.path, "error names \(error.file)")
            #expect(error.description.contains(url.path), "\(error)")
            return error
        }
    }

    static let cases: [(String, [UInt8], CheckpointError.Code, String?)] = [
        ("empty file", [], .truncated, nil),
        ("7 bytes", [1, 2, 3, 4, 5, 6, 7], .truncated, nil),
        ("header length beyond file", file(header: "{}", declaredLength: 1000, data: []), .truncated, nil),
        ("header length 2^63", file(header: "{}", declaredLength: 1 << 63, data: []), .unrecognizedFormat, nil),
        ("header length 2^64-1", file(header: "{}", declaredLength: .max, data: []), .unrecognizedFormat, nil),
        ("garbage header", file(header: "\u{1}\u{2}garbage!", data: []), .unrecognizedFormat, nil),
        ("JSON array header", file(header: "[1,2]", data: []), .unrecognizedFormat, nil),
        ("unterminated JSON", file(header: "{\"a\":{\"dtype\":\"F32\"", data: []), .invalidHeader, nil),
        ("bad dtype", file(header: #"{"w":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), .invalidHeader, "w"),
        ("dtype not a string", file(header: #"{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), .invalidHeader, "w"),
        ("negative shape", file(header: #"{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#, data: [0]), .invalidHeader, "w"),
        ("float shape", file(header: #"{"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}"#, data: [0]), .invalidHeader, "w"),
        ("bool shape", file(header: #"{"w":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}}"#, data: [0]), .invalidHeader, "w"),
        ("huge shape", file(header: #"{"w":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), .invalidHeader, "w"),
        ("size mismatch", file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), .invalidHeader, "w"),
        ("offsets reversed", file(header: #"{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]), .invalidHeader, "w"),
        ("offsets past data", file(header: #"{"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]), .truncated, "w"),
        ("missing offsets", file(header: #"{"w":{"dtype":"U8","shape":[1]}}"#, data: [0]), .invalidHeader, "w"),
        ("three offsets", file(header: #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}"#, data: [0, 0]), .invalidHeader, "w"),
        ("overlapping offsets", file(header: #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#, data: [UInt8](repeating: 0, count: 6)), .invalidHeader, "b"),
        ("duplicate key", file(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [0, 0]), .invalidHeader, nil),
        ("metadata value not a string", file(header: #"{"__metadata__":{"epoch":3}}"#, data: []), .invalidHeader, "epoch"),
        ("metadata not an object", file(header: #"{"__metadata__":"x"}"#, data: []), .invalidHeader, nil),
        ("entry not an object", file(header: #"{"w":[1]}"#, data: []), .invalidHeader, "w"),
        ("deep nesting", file(header: "{\"w\":" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}", data: []), .invalidHeader, nil),
        ("invalid UTF-8 in a name", file(header: "{\"\u{FFFD}\":1}", data: []).map { $0 == 0xEF ? 0xFF : $0 }, .invalidHeader, nil),
    ]

    @Test("each malformed file gives the expected error code and key", arguments: cases.indices)
    func malformed(index: Int) throws {
        let (label, bytes, code, key) = Self.cases[index]
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = try Self.readError(bytes, in: directory)
        #expect(error?.code == code, "\(label): \(String(describing: error))")
        if let key { #expect(error?.key == key, "\(label): \(String(describing: error))") }
    }

    @Test("a missing file and a directory are io errors naming the path")
    func notAFile() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("nope.safetensors")
        do {
            _ = try SafeTensors(contentsOf: missing)
            Issue.record("reading a missing file succeeded")
        } catch let error as CheckpointError {
            #expect(error.code == .io && error.file == missing.path && error.message.contains("No such file"), "\(error)")
        }
        #expect(throws: CheckpointError.self) { try SafeTensors(contentsOf: directory) }
    }

    @Test("expected.safetensors cut at 200 points: a thrown error every time, never a crash")
    func truncated() throws {
        let bytes = try Support.fixtureBytes("expected.safetensors")
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var cuts = Array(0..<64) + [bytes.count - 1, bytes.count - 2, bytes.count - 70000]
        var random = SplitMix64(seed: 3)
        while cuts.count < 200 { cuts.append(random.below(bytes.count)) }
        for cut in cuts {
            let error = try Self.readError(Array(bytes.prefix(cut)), in: directory)
            #expect(error != nil, "cut at \(cut) of \(bytes.count) was accepted")
        }
    }

    @Test("fuzz: 400 mutated copies of expected.safetensors never crash; accepted ones read fully")
    func fuzz() throws {
        let original = try Support.fixtureBytes("expected.safetensors")
        let headerEnd = 8 + Int(original.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(seed: 2024)
        var rejected = 0
        for _ in 0..<400 {
            var bytes = original
            for _ in 0..<(1 + random.below(4)) {
                // Mostly the header (where structure lives), sometimes anywhere.
                let position = random.below(4) == 0 ? random.below(bytes.count) : random.below(headerEnd)
                switch random.below(3) {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes[position] ^= UInt8(1 << random.below(8))
                default: bytes[position] = Array("{}[]\",:0123456789-".utf8)[random.below(18)]
                }
            }
            if try Self.readError(bytes, in: directory) != nil { rejected += 1 }
        }
        #expect(rejected > 0, "no mutation was rejected")
    }
}
