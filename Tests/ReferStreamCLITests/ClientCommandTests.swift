import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket listening on 127.0.0.1 at a port the kernel picked, that accepts connections (into its
/// backlog) and never answers: what a daemon that hangs, or a service that is not ReferStream, looks like.
/// `close()` frees the port; a closed listener's port is a port where nothing listens.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let listening = bound == 0 && listen(fd, 16) == 0
        try #require(listening, "bind/listen: errno \(errno)")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    var endpoint: String { "tcp://127.0.0.1:\(port)" }

    func close() { _ = Glibc.close(fd) }
}

/// A port on 127.0.0.1 where nothing listens (bound once by the kernel's choice, then released).
func unusedPort() throws -> Int {
    let listener = try SilentListener()
    listener.close()
    return listener.port
}

/// The daemon clients (`phrase`, `status`, `subscribe`) when no daemon is there, and their endpoint
/// checks, through the built binary.
@Suite("referstream phrase/status/subscribe without a daemon")
struct ClientCommandTests {
    @Test("nothing listening: one plain line naming the endpoint and how to start a daemon, status 2",
          arguments: [["status"], ["phrase", "list"], ["phrase", "add", "--stream", "cam", "a dog"], ["subscribe"]])
    func noDaemon(_ command: [String]) throws {
        let endpoint = "tcp://127.0.0.1:\(try unusedPort())"
        let option = command == ["subscribe"] ? "--masks" : "--control"
        let result = try runReferstream(command + [option, endpoint])
        #expect(result.status == 2, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: no ReferStream daemon answered at \(endpoint) (nothing listens on port"), "\(result.stderr)")
        #expect(result.stderr.contains("start one with `referstreamd --config FILE`") && result.stderr.contains(option), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        // "nothing listens" comes from the connect probe, before any ZeroMQ request could time out.
    }

    @Test("something listens but never replies: the control commands say no daemon answered within --timeout")
    func silentControlEndpoint() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let result = try runReferstream(["status", "--control", listener.endpoint, "--timeout", "0.5"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: no ReferStream daemon answered at \(listener.endpoint): no reply within 0.5 s (asked twice)"),
                "\(result.stderr)")
        #expect(result.stderr.contains("referstreamd --config FILE"), "\(result.stderr)")
    }

    @Test("subscribe --timeout: no mask within the limit is status 3 with a hint about phrases")
    func subscribeTimeout() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let result = try runReferstream(["subscribe", "--masks", listener.endpoint, "--timeout", "1"])
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains("error: no mask arrived from \(listener.endpoint) within 1 s"), "\(result.stderr)")
        #expect(result.stderr.contains("referstream phrase list"), "\(result.stderr)")
    }

    @Test("subscribe tells it is waiting for the first mask (every 5 s) and stops exactly at --timeout")
    func subscribeWaitingNotice() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let result = try runReferstream(["subscribe", "--masks", listener.endpoint, "--timeout", "6"])
        #expect(result.status == 3, "\(result)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("subscribed to masks/ on \(listener.endpoint)") == true, "\(result.stderr)")
        #expect(lines.dropFirst().first == "waiting for the first mask from \(listener.endpoint) (5 s); masks flow once a phrase is added: "
                + "referstream phrase add --stream ID \"…\"", "\(result.stderr)")
        #expect(lines.last?.hasPrefix("error: no mask arrived from \(listener.endpoint) within 6 s") == true, "\(result.stderr)")
    }

    @Test("endpoints a client cannot connect to are refused before anything is sent (status 64)", arguments: [
        (["status", "--control", "tcp://127.0.0.1:99999"], "--control tcp://127.0.0.1:99999: port 99999 is not a TCP port (1 to 65535)"),
        (["phrase", "list", "--control", "tcp://127.0.0.1:0"], "port 0 is not a TCP port (1 to 65535)"),
        (["status", "--control", "tcp://127.0.0.1"], "--control tcp://127.0.0.1 has no port"),
        (["status", "--control", "tcp://*:5560"], "not an empty or wildcard host"),
        (["status", "--control", "udp://127.0.0.1:5560"], "use tcp://HOST:PORT"),
        (["subscribe", "--masks", "tcp://127.0.0.1:99999"], "--masks tcp://127.0.0.1:99999: port 99999 is not a TCP port (1 to 65535)"),
        (["subscribe", "--masks", "tcp://localhost:http"], "port http is not a TCP port"),
    ])
    func badEndpoints(_ arguments: [String], _ message: String) throws {
        let result = try runReferstream(arguments)
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("an ipc:// endpoint without a socket file is reported like a closed port")
    func missingIPCSocket() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("referstream-no-daemon-\(getpid())").path
        let result = try runReferstream(["status", "--control", "ipc://\(path)"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.hasPrefix("error: no ReferStream daemon answered at ipc://\(path) (no socket file \(path))"), "\(result.stderr)")
    }

    @Test("each client's --help documents its exit statuses", arguments: [
        ["status"], ["phrase"], ["phrase", "add"], ["phrase", "set"], ["phrase", "remove"], ["phrase", "list"], ["subscribe"],
    ])
    func helpDocumentsExitStatus(_ command: [String]) throws {
        let result = try runReferstream(command + ["--help"])
        #expect(result.status == 0, "\(result)")
        let help = result.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        #expect(help.contains("Exit status: 0"), "\(result.stdout)")
        #expect(help.contains("2 no daemon"), "\(result.stdout)")
        if command == ["subscribe"] { #expect(help.contains("3 no mask within --timeout"), "\(result.stdout)") }
    }
}
