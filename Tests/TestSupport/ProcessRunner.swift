// The one runner for child processes of the tests (built executables, Python clients, tools).
import Foundation
import Synchronization

/// Exit status and both output streams of a finished child process.
public struct CommandResult: CustomStringConvertible, Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs `executable` with `arguments` (and `environment`, else the test's own) to completion, stdin
/// from /dev/null, and returns its status and outputs.
///
/// Standard output and standard error are drained concurrently (stderr on a thread of its own), so a
/// child that fills one pipe while the test waits on the other never blocks.
public func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let errData = Mutex(Data())
    let stderrDone = DispatchSemaphore(value: 0)
    let errHandle = err.fileHandleForReading
    let reader = Thread {
        let data = errHandle.readDataToEndOfFile()
        errData.withLock { $0 = data }
        stderrDone.signal()
    }
    reader.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    stderrDone.wait()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
}

/// The built executable `name` next to the tests (`.build/<triple>/debug`): the test runner lives there
/// or in a bundle directory below it, so walk up from the running executable (`/proc/self/exe`, falling
/// back to `CommandLine.arguments[0]`) until a directory holds an executable `name`.
public func builtProduct(_ name: String) -> URL? {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return nil
}
