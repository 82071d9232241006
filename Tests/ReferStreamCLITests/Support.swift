import Foundation
import Testing

/// The package root, found from this file's path (Tests/ReferStreamCLITests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Fixture folder `Tests/Fixtures/<name>`.
func fixture(_ name: String) -> URL {
    packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(name)
}

/// The directory holding the built products (`.build/<triple>/debug`): the test runner lives there or in a
/// bundle directory below it, so walk up from the running executable (`/proc/self/exe`, falling back to
/// `CommandLine.arguments[0]`) until a directory holds an executable `name`.
func builtProduct(_ name: String) -> URL? {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return nil
}

struct CommandResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs the built `referstream` with `arguments`, collecting both streams (read concurrently so a full
/// pipe never blocks the child).
func runReferstream(_ arguments: [String]) throws -> CommandResult {
    let binary = try #require(builtProduct("referstream"), "the referstream executable is not built next to the tests (swift build --build-tests)")
    return try run(binary, arguments)
}

func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let errData = LockedData()
    let stderrDone = DispatchSemaphore(value: 0)
    let reader = Thread {
        errData.set(err.fileHandleForReading.readDataToEndOfFile())
        stderrDone.signal()
    }
    reader.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    stderrDone.wait()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: errData.value, as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    // Safety: every access goes through `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    var value: Data { lock.withLock { data } }
}

/// The Python of the test environment: $REFERSTREAM_PYTHON, else <package root>/.venv/bin/python.
let testPython: URL? = {
    if let path = ProcessInfo.processInfo.environment["REFERSTREAM_PYTHON"], !path.isEmpty,
       FileManager.default.isExecutableFile(atPath: path) {
        return URL(fileURLWithPath: path)
    }
    let venv = packageRoot.appendingPathComponent(".venv/bin/python")
    return FileManager.default.isExecutableFile(atPath: venv.path) ? venv : nil
}()

/// A fresh temporary directory for one test.
func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("referstream-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `tools/make_random_checkpoint.py --tiny` into `directory`: a legacy-format `tiny.pth` and the
/// same tensors as `tiny.safetensors` (the tool's `--expected` copy).
func makeTinyCheckpoint(in directory: URL) throws -> (pth: URL, safetensors: URL) {
    let pth = directory.appendingPathComponent("tiny.pth"), reference = directory.appendingPathComponent("tiny.safetensors")
    let python = try #require(testPython)
    let made = try run(python, [packageRoot.appendingPathComponent("tools/make_random_checkpoint.py").path, pth.path, "--tiny",
                                "--expected", reference.path])
    try #require(made.status == 0, "\(made)")
    return (pth, reference)
}
