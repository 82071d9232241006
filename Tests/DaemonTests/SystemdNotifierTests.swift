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
