import Foundation
import TestSupport
import Testing
import ZeroMQ

/// Paths, generated inputs and child processes for the daemon tests: the built `referstreamd` and
/// `referstream` executables (next to this test bundle), the tiny golden model, the Python that runs
/// the independent clients (pyzmq, pycocotools) and the RTSP server.
enum DaemonTestSupport {
    static let packageRoot = Fixtures.packageRoot
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")
    static let tinyWeights = fixtures.appendingPathComponent("referformer-tiny/weights.safetensors").path
    static let tokenizer = fixtures.appendingPathComponent("tokenizer").path
    static let scripts = packageRoot.appendingPathComponent("Tests/DaemonTests/Python")

    /// The build folder holding the test bundle also holds the executables (`swift build --build-tests`
    /// builds every product).
    static let binDirectory: URL = {
        var url = Bundle.main.bundleURL
        for candidate in [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()] {
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("referstreamd").path) { url = candidate }
        }
        if !FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("referstreamd").path) {
            url = packageRoot.appendingPathComponent(".build/debug")
        }
        return url
    }()

    static var daemonPath: String { binDirectory.appendingPathComponent("referstreamd").path }
    static var cliPath: String { binDirectory.appendingPathComponent("referstream").path }
    static var haveExecutables: Bool {
        FileManager.default.isExecutableFile(atPath: daemonPath) && FileManager.default.isExecutableFile(atPath: cliPath)
    }

    /// REFERSTREAM_PYTHON, else <package root>/.venv/bin/python.
    static var python: String? {
        if let env = ProcessInfo.processInfo.environment["REFERSTREAM_PYTHON"], !env.isEmpty { return env }
        let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("referstream-daemon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes an H.264 MP4 of `frames` frames of videotestsrc's `ball` pattern (gst-launch-1.0).
    static func makeClip(at path: String, frames: Int, width: Int = 96, height: Int = 64, framerate: Int = 10) throws {
        let result = try run("/usr/bin/env", [
            "gst-launch-1.0", "-q", "videotestsrc", "pattern=ball", "num-buffers=\(frames)", "!",
            "video/x-raw,width=\(width),height=\(height),framerate=\(framerate)/1", "!", "x264enc", "!", "mp4mux", "!",
            "filesink", "location=\(path)",
        ])
        if result.status != 0 { throw TestFailure("gst-launch-1.0 could not write \(path): \(result.stderr)") }
    }

    /// A free TCP port on 127.0.0.1: libzmq binds `tcp://127.0.0.1:*` and the socket and its context
    /// are released before this returns (the context's termination waits for the listener to close).
    static func freePort() throws -> Int {
        let endpoint: String = try {
            let context = try Context()
            let socket = try Socket(context, .pub)
            try socket.bind("tcp://127.0.0.1:*")
            return try socket.lastEndpoint()
        }()
        guard let port = endpoint.split(separator: ":").last.flatMap({ Int($0) }) else { throw TestFailure("no port in \(endpoint)") }
        return port
    }

    /// Runs a program to completion and returns its status and output.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes on their own threads so that neither fills up and blocks the child.
        let errData = LockedData()
        let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errData.get() == nil { Thread.sleep(forTimeInterval: 0.01) }
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: errData.get() ?? Data(), as: UTF8.self))
    }

    /// A daemon configuration for the tests: tiny weights, a small network input, free ports.
    static func configuration(streams: String, masks: Int, control: Int, http: Int?, extra: String = "") -> String {
        """
        model:
          weights: \(tinyWeights)
          tokenizer: \(tokenizer)
          threads: 1
          shorter_side: 64
        transport:
          masks: tcp://127.0.0.1:\(masks)
          control: tcp://127.0.0.1:\(control)
        \(http.map { "metrics:\n  listen: 127.0.0.1:\($0)\n  dead_after: 3\n" } ?? "")\(extra)streams:
        \(streams)
        """
    }
}

final class LockedData: @unchecked Sendable {
    // Safety: `value` is only accessed with `lock` held.
    private let lock = NSLock()
    private var value: Data?
    func set(_ data: Data) { lock.withLock { value = data } }
    func get() -> Data? { lock.withLock { value } }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process whose output lines are collected as they come, so a test can wait for one.
final class ChildProcess: @unchecked Sendable {
    // Safety: `lines` and `ended` are guarded by `condition`; `process` is only signalled after start.
    let process = Process()
    let name: String
    private let condition = NSCondition()
    private var lines: [String] = []
    private var errorLines: [String] = []
    private var openStreams = 2

    init(_ name: String, executable: String, arguments: [String], environment: [String: String]? = nil) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        for (pipe, isError) in [(out, false), (err, true)] {
            let thread = Thread { [self] in
                var pending = ""
                while true {
                    let data = pipe.fileHandleForReading.availableData
                    if data.isEmpty { break }
                    pending += String(decoding: data, as: UTF8.self)
                    while let newline = pending.firstIndex(of: "\n") {
                        let line = String(pending[..<newline])
                        pending = String(pending[pending.index(after: newline)...])
                        condition.withLock {
                            if isError { errorLines.append(line) } else { lines.append(line) }
                            condition.broadcast()
                        }
                    }
                }
                condition.withLock {
                    if !pending.isEmpty { if isError { errorLines.append(pending) } else { lines.append(pending) } }
                    openStreams -= 1
                    condition.broadcast()
                }
            }
            thread.start()
        }
    }

    var stdout: [String] { condition.withLock { lines } }
    var stderr: [String] { condition.withLock { errorLines } }

    /// Waits until a line of stdout (or stderr) satisfies `predicate`; returns it, or nil at the timeout
    /// or when the process closed its output.
    @discardableResult
    func waitForLine(stderr fromStderr: Bool = false, timeout: Double, _ predicate: (String) -> Bool) -> String? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let line = (fromStderr ? errorLines : lines).first(where: predicate) { return line }
            if openStreams == 0 { return nil }
            if !condition.wait(until: deadline) { return nil }
        }
    }

    /// Waits until `condition` holds for the stdout lines so far (checked once per new line); false at
    /// the timeout or when the process closed its output without it holding.
    func waitUntil(timeout: Double, _ condition: ([String]) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        self.condition.lock()
        defer { self.condition.unlock() }
        while true {
            if condition(lines) { return true }
            if openStreams == 0 { return false }
            if !self.condition.wait(until: deadline) { return condition(lines) }
        }
    }

    /// Waits for the process to exit; returns its status, or nil at the timeout.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        while openStreams > 0 {
            if !condition.wait(until: deadline) { break }
        }
        condition.unlock()
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
