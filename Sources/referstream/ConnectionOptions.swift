import ArgumentParser
import Foundation
import Transport
import WireProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// CURVE options shared by every command that connects to the daemon.
struct CurveOptions: ParsableArguments {
    @Option(name: .customLong("server-key"), help: ArgumentHelp(
        "The daemon's CURVE public key (40 Z85 characters). Enables CURVE; needs --public-key and --secret-key.",
        valueName: "z85"))
    var serverKey: String?

    @Option(name: .customLong("public-key"), help: ArgumentHelp("This client's CURVE public key (Z85).", valueName: "z85"))
    var publicKey: String?

    @Option(name: .customLong("secret-key"), help: ArgumentHelp("This client's CURVE secret key (Z85).", valueName: "z85"))
    var secretKey: String?

    func validate() throws {
        let given = [serverKey, publicKey, secretKey].compactMap { $0 }.count
        if given != 0 && given != 3 {
            throw ValidationError("CURVE needs all three of --server-key, --public-key and --secret-key")
        }
    }

    func configuration() throws -> CurveClientConfiguration? {
        guard let serverKey, let publicKey, let secretKey else { return nil }
        do {
            return CurveClientConfiguration(
                serverKey: try CurveKey(z85: serverKey),
                keyPair: CurveKeyPair(publicKey: try CurveKey(z85: publicKey), secretKey: try CurveKey(z85: secretKey)))
        } catch {
            throw ValidationError("bad CURVE key: \(error)")
        }
    }
}

/// Options of the commands that use the control socket.
struct ControlOptions: ParsableArguments {
    @Option(name: .customLong("control"), help: ArgumentHelp("The daemon's control endpoint.", valueName: "endpoint"))
    var endpoint = "tcp://127.0.0.1:5560"

    @Option(help: ArgumentHelp("Seconds to wait for a reply; the request is retried once on a fresh socket.", valueName: "seconds"))
    var timeout: Double = 3

    @Flag(help: "Print the daemon's JSON reply as it came.")
    var json = false

    @OptionGroup var curve: CurveOptions

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
        try validateClientEndpoint(endpoint, option: "--control")
    }

    /// Sends `command`, prints the reply (`format` for success unless --json) and exits non-zero on an
    /// error reply or no reply (statuses: `controlExitStatuses`).
    func run(_ command: ControlCommand, format: (JSONValue) -> String) throws {
        try requireListener(at: endpoint, option: "--control")
        let context = try Context()
        let client = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: Int(timeout * 1000),
                                   retries: 1, curve: try curve.configuration())
        let response: ControlResponse
        do {
            response = try client.send(command)
        } catch where error.code == .timeout {
            printError("error: no ReferStream daemon answered at \(endpoint): no reply within \(formatSeconds(timeout)) (asked twice); "
                + "something accepts connections there, but it is not a daemon's control endpoint or it is stuck "
                + "(start one with `referstreamd --config FILE`, or give its endpoint with --control)")
            throw ExitCode(2)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        if json { print(String(decoding: response.jsonBytes(), as: UTF8.self)) }
        switch response.outcome {
        case .success(let result):
            if !json { print(format(result)) }
        case .failure(let error):
            if !json { printError("error: \(error.code.rawValue): \(error.message)") }
            throw ExitCode(1)
        }
    }
}

/// The exit statuses of the commands that talk to the daemon's control socket, for their --help.
let controlExitStatuses = """
    Exit status: 0 done; 1 the daemon refused the request (its error is printed); 2 no daemon answered \
    at the endpoint (nothing listens there, or no reply within --timeout, asked twice); 64 bad arguments.
    """

/// Refuses an endpoint a client cannot connect to: `tcp://HOST:PORT` with a port in 1…65535 and a
/// host that is not a wildcard, or `ipc://PATH`. libzmq accepts `zmq_connect` to
/// `tcp://127.0.0.1:99999` without an error (checked with libzmq 4.3), and the request then waits.
func validateClientEndpoint(_ endpoint: String, option: String) throws {
    if endpoint.hasPrefix("ipc://") {
        guard endpoint.count > "ipc://".count else { throw ValidationError("\(option) \(endpoint): ipc:// needs a socket path, e.g. ipc:///run/referstream/control") }
        return
    }
    guard endpoint.hasPrefix("tcp://") else {
        throw ValidationError("\(option) \(endpoint): use tcp://HOST:PORT (e.g. tcp://127.0.0.1:5560) or ipc://PATH")
    }
    guard let (host, portText) = splitHostPort(endpoint) else {
        throw ValidationError("\(option) \(endpoint) has no port: use tcp://HOST:PORT, e.g. tcp://127.0.0.1:5560")
    }
    guard !host.isEmpty, host != "*" else {
        throw ValidationError("\(option) \(endpoint): give the daemon's host (e.g. 127.0.0.1), not an empty or wildcard host")
    }
    guard let port = Int(portText), (1...65535).contains(port) else {
        throw ValidationError("\(option) \(endpoint): port \(portText) is not a TCP port (1 to 65535)")
    }
}

/// `tcp://host:port` → (host without IPv6 brackets, port text), or nil without a `:port`.
private func splitHostPort(_ endpoint: String) -> (host: String, port: String)? {
    let address = endpoint.dropFirst("tcp://".count)
    guard let colon = address.lastIndex(of: ":") else { return nil }
    var host = String(address[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, String(address[address.index(after: colon)...]))
}

/// Exits with status 2 and one line when nothing listens at `endpoint`: a ZeroMQ client would connect
/// in the background and wait (subscribe: forever), which tells a new user nothing. An endpoint whose
/// state cannot be told quickly (a remote host that drops packets) is left to ZeroMQ.
func requireListener(at endpoint: String, option: String) throws {
    guard case .absent(let reason) = probeListener(endpoint) else { return }
    printError("error: no ReferStream daemon answered at \(endpoint) (\(reason)): start one with "
        + "`referstreamd --config FILE`, or give its endpoint with \(option)")
    throw ExitCode(2)
}

enum ListenerProbe: Equatable {
    case listening
    case absent(String)
    case unknown
}

/// Whether something accepts connections at a `tcp://` or `ipc://` endpoint: one plain connect (no
/// ZeroMQ handshake), closed at once; at most 2 s for a host that does not answer.
func probeListener(_ endpoint: String) -> ListenerProbe {
    if endpoint.hasPrefix("ipc://") {
        let path = String(endpoint.dropFirst("ipc://".count))
        guard !path.hasPrefix("@") else { return .unknown }  // abstract namespace: no file to look at
        guard FileManager.default.fileExists(atPath: path) else { return .absent("no socket file \(path)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { return .unknown }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .unknown }
        defer { close(fd) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc == 0 { return .listening }
        let code = errno
        return code == ECONNREFUSED || code == ENOENT ? .absent("nothing listens on \(path)") : .unknown
    }
    guard endpoint.hasPrefix("tcp://"), let (host, port) = splitHostPort(endpoint) else { return .unknown }
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let resolved = getaddrinfo(host, port, &hints, &list)
    guard resolved == 0 else { return .absent("cannot resolve \(host): \(String(cString: gai_strerror(resolved)))") }
    defer { freeaddrinfo(list) }
    var refused = false
    var entry = list
    while let info = entry?.pointee {
        entry = info.ai_next
        let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        guard fd >= 0 else { continue }
        defer { close(fd) }
        var rc = connect(fd, info.ai_addr, info.ai_addrlen)
        var code = rc == 0 ? 0 : errno
        if rc != 0 && code == EINPROGRESS {
            var waiting = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            repeat { rc = poll(&waiting, 1, 2000) } while rc < 0 && errno == EINTR
            guard rc > 0 else { continue }  // no answer within 2 s: cannot tell
            var length = socklen_t(MemoryLayout<Int32>.size)
            code = 0
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
        }
        if code == 0 { return .listening }
        if code == ECONNREFUSED { refused = true }
    }
    return refused ? .absent("nothing listens on port \(port) of \(host)") : .unknown
}

/// "3 s", "0.5 s".
func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// One line per phrase: id, stream, quoted text.
func formatPhrases(_ value: JSONValue) -> String {
    let phrases: [PhraseInfo]
    if let list = try? value.decode(as: [PhraseInfo].self) { phrases = list }
    else if let one = try? value.decode(as: PhraseInfo.self) { phrases = [one] }
    else { return String(decoding: value.jsonBytes(), as: UTF8.self) }
    if phrases.isEmpty { return "(no phrases)" }
    let width = phrases.map(\.id.count).max() ?? 0
    return phrases.map { "\($0.id.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.stream)  \"\($0.text)\"" }
        .joined(separator: "\n")
}
