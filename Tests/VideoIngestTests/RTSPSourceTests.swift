import Foundation
import Testing
@testable import VideoIngest

/// The loopback RTSP server (Tests/Fixtures/ingest/rtsp_server.py) run by REFERSTREAM_PYTHON.
final class RTSPServer: @unchecked Sendable {
    // Safety: `process` is created in init and only signalled afterwards (Process is thread-safe for that).
    let process: Process
    let port: Int

    init(port: Int) throws {
        guard let python = TestSupport.python else { throw TestFailure("no Python: set REFERSTREAM_PYTHON") }
        self.port = port
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TestSupport.fixtures.appendingPathComponent("rtsp_server.py").path, String(port)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for READY (or the end of its output) on a helper thread, with a deadline.
        let ready = NSCondition()
        nonisolated(unsafe) var line: String?
        let reader = Thread {
            var text = ""
            while true {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
                if text.contains("\n") { break }
            }
            ready.withLock {
                line = text
                ready.signal()
            }
        }
        reader.start()
        ready.lock()
        if line == nil { _ = ready.wait(until: Date(timeIntervalSinceNow: 20)) }
        let got = line
        ready.unlock()
        guard got?.hasPrefix("READY") == true else {
            kill()
            throw TestFailure("the RTSP server did not start: \(got ?? "no output within 20 s")")
        }
    }

    /// SIGKILL: the server vanishes without a teardown, like a camera losing power.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { kill() }
}

@Suite("RTSP source (loopback GstRtspServer)", .enabled(if: TestSupport.python != nil, "needs REFERSTREAM_PYTHON with gi"))
struct RTSPSourceTests {
    @Test("frames flow; the server dies for longer than the stall timeout and comes back: stalled → reconnecting → live, frames resume")
    func reconnects() throws {
        let port = try TestSupport.freePort()
        var server: RTSPServer? = try RTSPServer(port: port)
        let log = EventLog()
        let stallTimeout = Duration.seconds(1)
        let source = try VideoSource(
            SourceConfiguration(
                .rtsp(.init(url: "rtsp://127.0.0.1:\(port)/test", latency: .milliseconds(100), transport: .tcp, timeout: .seconds(2))),
                stallTimeout: stallTimeout, connectTimeout: .seconds(5),
                reconnect: .init(initialDelay: .milliseconds(250), maxDelay: .seconds(1))),
            name: "rtsp", onEvent: log.handler)
        try source.start()
        defer { source.stop() }
        #expect(log.wait(timeout: .seconds(20)) { $0 == .live } != nil, "\(log.names)")

        var firstFrames: [VideoFrame] = []
        while firstFrames.count < 5, case .frame(let frame) = try source.next(timeout: .seconds(5)) { firstFrames.append(frame) }
        #expect(firstFrames.count == 5)
        for frame in firstFrames {
            #expect(frame.size == FrameSize(width: 480, height: 360) && frame.originalSize == FrameSize(width: 320, height: 240), "\(frame.size)")
        }

        // Kill the server and keep it down for longer than the stall timeout.
        let killedAt = log.all.count
        server?.kill()
        server = nil
        #expect(log.wait(from: killedAt, timeout: .seconds(10)) { $0.name == "stalled" } != nil, "\(log.names)")
        Thread.sleep(forTimeInterval: seconds(stallTimeout) + 0.5)
        let restartIndex = log.all.count
        let restartingAt = ContinuousClock.now
        server = try RTSPServer(port: port)
        let restartedAt = ContinuousClock.now

        // Frames from a new connection arrive.
        var resumed: VideoFrame?
        let deadline = ContinuousClock.now + .seconds(30)
        while resumed == nil, ContinuousClock.now < deadline {
            if case .frame(let frame) = try source.next(timeout: .seconds(2)), frame.connection > firstFrames[0].connection {
                resumed = frame
            }
        }
        let frame = try #require(resumed, "no frame after the restart; events \(log.names)")
        print("rtsp resume: first frame \(frame.receivedAt - restartedAt) after the restarted server said READY (\(restartedAt - restartingAt) to start it; connection \(frame.connection), \(source.statistics.reconnects) reconnection attempts)")
        #expect(frame.size == FrameSize(width: 480, height: 360))

        // Order of events since the kill: stalled, then reconnecting, then (after the restart) live.
        let names = Array(log.names[killedAt...])
        let stalled = names.firstIndex(of: "stalled"), reconnecting = names.firstIndex(of: "reconnecting")
        let live = log.wait(from: max(restartIndex, killedAt), timeout: .seconds(5)) { $0 == .live }
        #expect(stalled != nil && reconnecting != nil && stalled! < reconnecting!, "\(names)")
        #expect(live != nil, "no live after the restart: \(log.names)")
        #expect(!log.names.contains("failed"), "\(log.names)")
        if case .stalled(let cause)? = log.all[killedAt...].first(where: { $0.name == "stalled" }) {
            print("rtsp stall cause: \(cause.code): \(cause.message)")
        }
    }
}

@Suite("RTSP outages: loss told by GStreamer, capped backoff (loopback GstRtspServer)", .enabled(if: TestSupport.python != nil, "needs REFERSTREAM_PYTHON with gi"))
struct RTSPOutageTests {
    /// Reads frames until one comes from a connection newer than `after`; nil after `limit`.
    static func firstFrame(of source: VideoSource, after connection: Int, limit: Duration = .seconds(30)) throws -> VideoFrame? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if case .frame(let frame) = try source.next(timeout: .seconds(1)), frame.connection > connection { return frame }
        }
        return nil
    }

    @Test("default settings: started while the server is down, then outages of 1 s and 8 s; frames resume each time, no reconnection delay exceeds the 2 s cap")
    func outages() throws {
        let port = try TestSupport.freePort()
        let log = EventLog()
        // Default stall timeout, connect timeout and reconnection policy: what the daemon uses.
        let configuration = SourceConfiguration(
            .rtsp(.init(url: "rtsp://127.0.0.1:\(port)/test", latency: .milliseconds(100), transport: .tcp)))
        let cap = configuration.reconnect.maxDelay
        #expect(cap <= .seconds(2), "the default backoff cap keeps resumption within 5 s of the server's return")
        let source = try VideoSource(configuration, name: "rtsp", onEvent: log.handler)
        try source.start()
        defer { source.stop() }

        var resumes: [(outage: Double, resume: Duration)] = []
        // The server is down when the source starts.
        Thread.sleep(forTimeInterval: 5)
        var restartedAt = ContinuousClock.now
        var server: RTSPServer? = try RTSPServer(port: port)
        restartedAt = ContinuousClock.now
        var frame = try #require(try Self.firstFrame(of: source, after: 0), "no frame once the server came up: \(log.names)")
        resumes.append((5, frame.receivedAt - restartedAt))

        for outage in [1.0, 8.0] {
            let killedAt = log.all.count
            server?.kill()
            server = nil
            let stalled = log.wait(from: killedAt, timeout: .seconds(10)) { $0.name == "stalled" }
            if let stalled, case .stalled(let cause) = log.all[stalled] {
                // Told by rtspsrc (the server closed the connection), not found by the stall timer.
                #expect(cause.code != .timeout, "loss found by the stall timer: \(cause)")
                print("rtsp outage \(outage) s: loss cause \(cause.code): \(cause.message)")
            } else {
                Issue.record("no stalled event after the kill: \(log.names)")
            }
            Thread.sleep(forTimeInterval: outage)
            server = try RTSPServer(port: port)
            restartedAt = ContinuousClock.now
            let before = frame.connection
            frame = try #require(try Self.firstFrame(of: source, after: before), "no frame after a \(outage) s outage: \(log.names)")
            resumes.append((outage, frame.receivedAt - restartedAt))
        }
        for (outage, resume) in resumes {
            print("rtsp resume after a \(outage) s outage: first frame \(resume) after the server said READY")
        }
        let delays = log.all.compactMap { event -> Duration? in
            if case .reconnecting(_, let delay, _) = event { return delay }
            return nil
        }
        print("rtsp reconnection delays: \(delays)")
        #expect(!delays.isEmpty && delays.allSatisfy { $0 <= cap }, "\(delays)")
        #expect(!log.names.contains("failed"), "\(log.names)")
        withExtendedLifetime(server) {}
    }

    @Test("an RTSP path the server does not have: not-found, worded as sentences")
    func notFound() throws {
        let port = try TestSupport.freePort()
        let server = try RTSPServer(port: port)
        defer { withExtendedLifetime(server) {} }
        let source = try VideoSource(SourceConfiguration(
            .rtsp(.init(url: "rtsp://127.0.0.1:\(port)/nothing-here", transport: .tcp)),
            reconnect: .init(maxAttempts: 0)))
        try source.start()
        let error = try #require(TestSupport.terminalError(source))
        source.stop()
        #expect(error.code == .notFound, "\(error)")
        #expect(error.message.contains("Not found. Check that it exists"), "\(error.message)")
    }
}
