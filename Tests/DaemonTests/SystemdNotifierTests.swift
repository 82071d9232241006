import Foundation
import Testing
@testable import Daemon

/// A unix datagram socket standing in for systemd's notification socket.
final class NotifySocket {
    let fd: Int32
    let path: String

    /// - Parameter abstract: bind in the abstract namespace (`@name`) rather than on the filesystem.
    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        let name = "referstream-notify-\(UUID().uuidString.prefix(8))"
        path = abstract ? "@" + name : FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw TestFailure("bind(\(path)) failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram as text (nil after 5 s).
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n < 0 ? nil : String(decoding: buffer[..<n], as: UTF8.self)
    }

    deinit {
        close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }
}

@Suite("sd_notify over $NOTIFY_SOCKET (real unix datagram sockets)")
struct SystemdNotifierTests {
    @Test("READY, STATUS, WATCHDOG and STOPPING arrive as datagrams", arguments: [false, true])
    func datagrams(abstract: Bool) throws {
        let socket = try NotifySocket(abstract: abstract)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "4000000"])
        #expect(notifier.isEnabled)
        #expect(notifier.watchdogInterval == .seconds(4))
        #expect(notifier.ready(status: "model loaded"))
        #expect(socket.receive() == "READY=1\nSTATUS=model loaded\nMAINPID=\(getpid())")
        #expect(notifier.status("2 streams"))
        #expect(socket.receive() == "STATUS=2 streams")
        #expect(notifier.watchdog())
        #expect(socket.receive() == "WATCHDOG=1")
        #expect(notifier.stopping(status: "bye"))
        #expect(socket.receive() == "STOPPING=1\nSTATUS=bye")
    }

    @Test("without NOTIFY_SOCKET nothing is sent; a watchdog meant for another process is ignored")
    func disabled() {
        let none = SystemdNotifier(environment: [:])
        #expect(!none.isEnabled && !none.ready(status: "x") && none.watchdogInterval == nil)
        let other = SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "\(getpid() + 1)"])
        #expect(other.watchdogInterval == nil)
    }

    @Test("a socket that is gone is not an error for the daemon")
    func gone() {
        let notifier = SystemdNotifier(socketPath: "/nonexistent/notify")
        #expect(notifier.isEnabled && !notifier.watchdog())
    }
}

@Suite("referstreamd under a simulated systemd (NOTIFY_SOCKET, WATCHDOG_USEC)",
       .enabled(if: DaemonTestSupport.haveExecutables, "needs the built referstreamd"))
struct DaemonNotifyTests {
    @Test("READY=1 once the sockets answer, STATUS lines, WATCHDOG=1 keep-alives from the inference loop, STOPPING=1 on SIGTERM")
    func lifecycle() throws {
        let socket = try NotifySocket(abstract: true)
        let directory = try DaemonTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let control = try DaemonTestSupport.freePort()
        let path = directory.appendingPathComponent("d.yaml").path
        try DaemonTestSupport.configuration(streams: """
              - id: pattern
                source: test
                params: {pattern: ball, live: true, width: 64, height: 48, framerate: 5}
            """, masks: try DaemonTestSupport.freePort(), control: control, http: nil).write(toFile: path, atomically: true, encoding: .utf8)
        let daemon = try ChildProcess("referstreamd", executable: DaemonTestSupport.daemonPath, arguments: ["--config", path],
                                      environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000"])
        var messages: [String] = []
        let deadline = Date(timeIntervalSinceNow: 120)  // loading the model comes first
        while Date() < deadline, daemon.process.isRunning, messages.last?.hasPrefix("READY=1") != true {
            if let message = socket.receive() { messages.append(message) }
        }
        let ready = try #require(messages.last, "no READY=1; stderr: \(daemon.stderr)")
        #expect(ready.hasPrefix("READY=1\nSTATUS=model loaded") && ready.contains("MAINPID=\(daemon.process.processIdentifier)"), "\(ready)")
        // The control socket answers as soon as READY=1 was sent.
        let status = try DaemonTestSupport.run(DaemonTestSupport.cliPath, ["status", "--control", "tcp://127.0.0.1:\(control)", "--timeout", "2"])
        #expect(status.status == 0, "status right after READY=1: \(status.stderr)")
        var keepAlives = 0
        while keepAlives < 3, let message = socket.receive() {
            if message == "WATCHDOG=1" { keepAlives += 1 }
        }
        #expect(keepAlives == 3, "watchdog keep-alives: \(keepAlives)")
        daemon.signal(SIGTERM)
        var stopping: String?
        while stopping == nil, let message = socket.receive() {
            if message.hasPrefix("STOPPING=1") { stopping = message }
        }
        #expect(stopping != nil)
        #expect(daemon.waitForExit(timeout: 20) == 0)
    }
}
