import Foundation
import Testing
import TestSupport
@testable import Checkpoint

/// Locations and helpers shared by the checkpoint tests.
enum Support {
    /// The package root: the directory above `Tests/`, found from this source file's path.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    static func fixture(_ name: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures/checkpoint").appendingPathComponent(name)
    }

    static func fixtureBytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixture(name)))
    }

    /// A fresh empty directory for one test.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("checkpoint-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ bytes: [UInt8], to url: URL) throws {
        try Data(bytes).write(to: url)
    }

    /// The Python of the test environment: $REFERSTREAM_PYTHON, else <package root>/.venv/bin/python.
    static let python: String? = {
        if let path = ProcessInfo.processInfo.environment["REFERSTREAM_PYTHON"], !path.isEmpty,
           FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let local = packageRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }()

    /// True when that Python can import `safetensors` (and numpy).
    static let pythonHasSafetensors: Bool = {
        (try? runPython("import safetensors, numpy", arguments: [])) != nil
    }()

    /// Runs `script` with the test Python; returns stdout, throws on a non-zero exit.
    @discardableResult
    static func runPython(_ script: String, arguments: [String]) throws -> String {
        guard let python else { throw PythonFailure(message: "no Python (set REFERSTREAM_PYTHON)") }
        // TestSupport's runner drains stdout and stderr concurrently (a chatty child cannot block).
        let result = try TestSupport.run(URL(fileURLWithPath: python), ["-c", script] + arguments)
        guard result.status == 0 else { throw PythonFailure(message: result.stderr) }
        return result.stdout
    }

    struct PythonFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { "python failed: \(message)" }
    }

    /// Lowercase hex of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// The per-key facts of `checkpoint.json` (`model_keys`).
struct GoldenKey: Decodable {
    var key: String
    var dtype: String
    var shape: [Int]
    var stride: [Int]
    var storage_offset: Int
    var storage_numel: Int
    var note: String?

    var dtypeValue: DType? {
        switch dtype {
        case "float32": .float32
        case "float16": .float16
        case "bfloat16": .bfloat16
        case "float64": .float64
        case "int64": .int64
        case "int32": .int32
        case "int16": .int16
        case "int8": .int8
        case "uint8": .uint8
        case "bool": .bool
        default: nil
        }
    }

    static func load() throws -> [GoldenKey] {
        struct File: Decodable { var model_keys: [GoldenKey] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: Support.fixture("checkpoint.json"))).model_keys
    }
}
