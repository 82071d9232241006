// Helpers shared by test targets: the one fixture locator (`Fixtures`), the one safetensors reader for
// fixtures (`GoldenTensors`, on the project's own `Checkpoint.SafeTensors`), the one tolerance comparator
// (`Comparison`), and the one runner for built executables (`run`, in ProcessRunner.swift).
import Checkpoint
import Foundation
import Tensor

/// Fixture files under `Tests/Fixtures/`, found from this source file's path (never an absolute path).
public enum Fixtures {
    /// The package root: the first directory above this file that holds `Package.swift`.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    /// `Tests/Fixtures/<relativePath>`.
    public static func url(_ relativePath: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relativePath)
    }

    /// `Tests/Fixtures/referformer-tiny`: the tiny official model and its golden cases.
    public static var tiny: URL { url("referformer-tiny") }
}

/// A golden safetensors file whose tensors are read as `Tensor`s, integer arrays or booleans.
public struct GoldenTensors: Sendable {
    public let file: SafeTensors

    public init(_ relativePath: String) throws {
        file = try SafeTensors(contentsOf: Fixtures.url(relativePath))
    }

    /// A float tensor (F32/F16/BF16/F64 widened or rounded to Float) as a contiguous `Tensor`.
    public func tensor(_ name: String) throws -> Tensor {
        let record = try file.tensor(name)
        return Tensor(shape: record.shape, elements: try record.floats())
    }

    /// An integer or bool tensor's values, row-major.
    public func ints(_ name: String) throws -> [Int] {
        try file.tensor(name).int64s().map { Int($0) }
    }

    /// A float tensor's values, row-major, with its shape.
    public func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let record = try file.tensor(name)
        return (record.shape, try record.floats())
    }

    /// A U8 tensor's bytes, row-major, with its shape.
    public func bytes(_ name: String) throws -> (shape: [Int], values: [UInt8]) {
        let record = try file.tensor(name)
        guard record.dtype == .uint8 else { throw FixtureError("\(name) is \(record.dtype), expected U8") }
        return (record.shape, record.contiguousBytes())
    }

    /// A bool (or integer) tensor's values as `Bool`, row-major.
    public func bools(_ name: String) throws -> [Bool] {
        try file.tensor(name).int64s().map { $0 != 0 }
    }

    public func shape(_ name: String) throws -> [Int] { try file.tensor(name).shape }
}

/// A fixture that is missing or not what a test expects.
public struct FixtureError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The result of comparing a computed tensor with a reference: `maxAbs / rms(reference)` against a
/// relative tolerance, with the worst elements listed for failure messages.
public struct Comparison: CustomStringConvertible, Sendable {
    public let maxAbs: Double
    public let referenceRMS: Double
    public let tolerance: Double
    public let shapesMatch: Bool
    public let worst: [(index: [Int], actual: Float, expected: Float)]
    public let shape: [Int]
    public let actualShape: [Int]

    /// `max|actual − expected| / rms(expected)`.
    public var relativeError: Double { referenceRMS > 0 ? maxAbs / referenceRMS : maxAbs }
    public var passed: Bool { shapesMatch && relativeError <= tolerance }

    public var description: String {
        if !shapesMatch { return "shape \(actualShape) differs from expected \(shape)" }
        var text = "max|Δ| = \(maxAbs), rms(ref) = \(referenceRMS), max|Δ|/rms = \(relativeError) (tolerance \(tolerance))"
        if !worst.isEmpty {
            text += "; worst: " + worst.map { "\($0.index): \($0.actual) vs \($0.expected)" }.joined(separator: ", ")
        }
        return text
    }

    /// Compares `actual` with `expected`; `tolerance` is relative to the RMS of `expected` (0 = exact).
    /// NaN matches NaN and ±inf must match exactly.
    public init(_ actual: Tensor, _ expected: Tensor, tolerance: Double, worstCount: Int = 5) {
        shape = expected.shape
        actualShape = actual.shape
        self.tolerance = tolerance
        shapesMatch = actual.shape == expected.shape
        guard shapesMatch else {
            maxAbs = .infinity; referenceRMS = 0; worst = []
            return
        }
        let a = actual.scalars, e = expected.scalars
        var sumSq = 0.0, finite = 0
        for v in e where v.isFinite { sumSq += Double(v) * Double(v); finite += 1 }
        referenceRMS = finite > 0 ? (sumSq / Double(finite)).squareRoot() : 0
        var diffs = [(Int, Double)]()
        diffs.reserveCapacity(a.count)
        var m = 0.0
        for i in 0..<a.count {
            let d: Double
            if e[i].isNaN || a[i].isNaN {
                d = e[i].isNaN && a[i].isNaN ? 0 : .infinity
            } else if !e[i].isFinite || !a[i].isFinite {
                d = a[i] == e[i] ? 0 : .infinity
            } else {
                d = abs(Double(a[i]) - Double(e[i]))
            }
            m = max(m, d)
            diffs.append((i, d))
        }
        maxAbs = m
        let strides = Tensor.contiguousStrides(for: expected.shape)
        worst = diffs.sorted { $0.1 > $1.1 }.prefix(worstCount).filter { $0.1 > 0 }.map { (i, _) in
            var rest = i
            let index = strides.map { s -> Int in let q = rest / s; rest %= s; return q }
            return (index, a[i], e[i])
        }
    }
}

/// The golden op cases (`ops.json`): names, params and tensor names.
public struct OpsCatalog: Sendable {
    public struct Case: Sendable {
        public let name: String
        public let op: String
        public let params: [String: Double]
        public let inputs: [String]
        public let outputs: [String]
    }
    public let cases: [Case]

    public init(_ relativePath: String) throws {
        let data = try Data(contentsOf: Fixtures.url(relativePath))
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let list = root["cases"] as? [[String: Any]] ?? []
        cases = list.map { c in
            var params: [String: Double] = [:]
            for (k, v) in c["params"] as? [String: Any] ?? [:] {
                if let n = v as? NSNumber { params[k] = n.doubleValue }
            }
            return Case(
                name: c["name"] as? String ?? "", op: c["op"] as? String ?? "", params: params,
                inputs: Array((c["inputs"] as? [String: Any] ?? [:]).keys).sorted(),
                outputs: Array((c["outputs"] as? [String: Any] ?? [:]).keys).sorted())
        }
    }

    public subscript(name name: String) -> Case? { cases.first { $0.name == name } }
}

/// A deterministic generator (SplitMix64), shared by the test targets so that failures reproduce.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in `0..<n`.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}
