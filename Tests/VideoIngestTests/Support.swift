import Foundation
import Testing
@testable import VideoIngest

/// Paths and processes the ingest tests need: the package root (found from this file, never an
/// absolute path), generated clips in a temporary folder, the Python that runs the RTSP server.
enum TestSupport {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures/ingest")

    /// REFERSTREAM_PYTHON, else <package root>/.venv/bin/python (see RULES: no other fallback).
    static var python: String? {
        if let env = ProcessInfo.processInfo.environment["REFERSTREAM_PYTHON"], !env.isEmpty { return env }
        let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("referstream-ingest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs gst-launch-1.0 with a description (split on spaces: keep paths free of spaces).
    static func gstLaunch(_ description: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gst-launch-1.0", "-q"] + description.split(separator: " ").map(String.init)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw TestFailure("gst-launch-1.0 \(description) failed: \(String(decoding: stderr, as: UTF8.self))")
        }
    }

    /// A free TCP port on 127.0.0.1 (bound to port 0 and released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Reads every frame of a non-live source until end-of-stream.
    static func drain(_ source: VideoSource, timeout: Duration = .seconds(20)) throws -> [VideoFrame] {
        var frames: [VideoFrame] = []
        while true {
            switch try source.next(timeout: timeout) {
            case .frame(let frame): frames.append(frame)
            case .endOfStream: return frames
            case .timedOut: throw TestFailure("timed out after \(frames.count) frames")
            }
        }
    }

    /// Runs a source until it fails or ends and returns the error `next` throws (nil if it ended).
    static func terminalError(_ source: VideoSource, timeout: Duration = .seconds(20)) -> IngestError? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            do {
                switch try source.next(timeout: .seconds(1)) {
                case .frame, .timedOut: continue
                case .endOfStream: return nil
                }
            } catch {
                return error
            }
        }
        return IngestError(.timeout, "the test gave up waiting for the source to end")
    }
}

/// A duration in seconds, for Foundation's time APIs.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Collects a source's events for assertions (handler runs on the supervisor thread).
final class EventLog: @unchecked Sendable {
    // Safety: `events` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var events: [SourceEvent] = []

    var handler: @Sendable (SourceEvent) -> Void {
        { [self] event in
            condition.lock()
            events.append(event)
            condition.broadcast()
            condition.unlock()
        }
    }

    var all: [SourceEvent] { condition.withLock { events } }
    var names: [String] { all.map(\.name) }

    /// Waits until an event satisfying `predicate` is logged at or after position `from`; returns its index.
    @discardableResult
    func wait(from: Int = 0, timeout: Duration, _ predicate: (SourceEvent) -> Bool) -> Int? {
        let deadline = Date(timeIntervalSinceNow: seconds(timeout))
        condition.lock()
        defer { condition.unlock() }
        while true {
            if from < events.count, let index = events[from...].firstIndex(where: predicate) { return index }
            if !condition.wait(until: deadline) { return nil }
        }
    }
}
