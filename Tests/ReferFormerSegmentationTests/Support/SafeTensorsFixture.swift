// Test-only safetensors reader for the golden fixtures (the `Checkpoint` module's reader is not a
// dependency of this target yet). Reads the whole file; decodes F32, F16, I64 and U8.
import Foundation
import ReferFormer
import Tensor

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// The tensors of one safetensors file, by name.
struct SafeTensorsFixture {
    struct Entry {
        var dtype: String
        var shape: [Int]
        var range: Range<Int>
    }

    let url: URL
    let data: Data
    let entries: [String: Entry]
    /// Names in file (header) order.
    let names: [String]

    init(_ url: URL) throws {
        self.url = url
        data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw FixtureError(description: "\(url.path): too short") }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        let header = data.subdata(in: 8..<(8 + headerLength))
        guard let json = try JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw FixtureError(description: "\(url.path): header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        for (name, value) in json where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw FixtureError(description: "\(url.path): bad entry \(name)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
        }
        self.entries = entries
        names = entries.keys.sorted { entries[$0]!.range.lowerBound < entries[$1]!.range.lowerBound }
    }

    func has(_ name: String) -> Bool { entries[name] != nil }

    /// A float tensor (F32 or F16, converted exactly).
    func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw FixtureError(description: "\(url.lastPathComponent) has no tensor \(name)") }
        let bytes = data.subdata(in: entry.range)
        let count = entry.shape.reduce(1, *)
        switch entry.dtype {
        case "F32":
            return bytes.withUnsafeBytes { raw in
                Tensor(shape: entry.shape) { out in
                    for i in 0..<count { out[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
                }
            }
        case "F16":
            return bytes.withUnsafeBytes { raw in
                Tensor(shape: entry.shape) { out in
                    for i in 0..<count { out[i] = Self.halfToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
                }
            }
        default:
            throw FixtureError(description: "\(name): dtype \(entry.dtype) is not a float type")
        }
    }

    /// Integer values (I64 or U8) as Int.
    func integers(_ name: String) throws -> [Int] {
        guard let entry = entries[name] else { throw FixtureError(description: "\(url.lastPathComponent) has no tensor \(name)") }
        let bytes = data.subdata(in: entry.range)
        let count = entry.shape.reduce(1, *)
        return try bytes.withUnsafeBytes { raw in
            switch entry.dtype {
            case "I64": return (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case "U8": return (0..<count).map { Int(raw[$0]) }
            default: throw FixtureError(description: "\(name): dtype \(entry.dtype) is not an integer type")
            }
        }
    }

    func shape(_ name: String) -> [Int]? { entries[name]?.shape }

    /// IEEE binary16 → binary32, subnormals, infinities and NaN included.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
    }

    /// All float tensors as a strict `StateDict` (checkpoint order).
    func stateDict() throws -> StateDict {
        StateDict(try names.map { ($0, try tensor($0)) })
    }
}

/// Locations of the fixtures, found from this file's path (never an absolute path).
enum Fixtures {
    static var root: URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { break }
        }
        return url.appendingPathComponent("Tests/Fixtures")
    }

    static var tiny: URL { root.appendingPathComponent("referformer-tiny") }

    /// The tiny model's weights, loaded once.
    static let tinyWeights: Result<SafeTensorsFixture, Error> = Result { try SafeTensorsFixture(tiny.appendingPathComponent("weights.safetensors")) }

    static func tinyCase(_ name: String) throws -> SafeTensorsFixture {
        try SafeTensorsFixture(tiny.appendingPathComponent("\(name).safetensors"))
    }
}
