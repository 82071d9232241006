import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// systemd's readiness protocol (`sd_notify(3)`) spoken natively: datagrams of `KEY=VALUE` lines sent
/// to the unix socket named by `$NOTIFY_SOCKET`.
///
/// `READY=1` once the model is loaded and the sockets are bound, `STATUS=` lines for `systemctl
/// status`, `WATCHDOG=1` keep-alives (sent by the inference loop, so a hung model stops them and
/// systemd restarts the daemon), `STOPPING=1` when shutting down. A path starting with `@` is in the
/// abstract namespace (its first byte becomes NUL), as systemd documents. Without `$NOTIFY_SOCKET`
/// (not started by systemd) every call does nothing.
///
/// Thread-safety: every method may be called from any thread (one `sendto` each, on a socket that is
/// only closed in `deinit`).
public final class SystemdNotifier: Sendable {
    /// The socket address, nil when not running under systemd.
    public let socketPath: String?
    /// How often systemd expects `WATCHDOG=1` (`$WATCHDOG_USEC`), nil when no watchdog is set.
    public let watchdogInterval: Duration?
    private let fd: Int32

    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` from `environment`.
    public convenience init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var interval: Duration?
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            // WATCHDOG_PID, when set, names the process the watchdog is meant for.
            if environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true {
                interval = .microseconds(Int64(usec))
            }
        }
        self.init(socketPath: environment["NOTIFY_SOCKET"], watchdogInterval: interval)
    }

    /// - Parameters:
    ///   - socketPath: a filesystem path or `@abstract-name`; nil or empty for no notifications.
    ///   - watchdogInterval: the watchdog period systemd enforces.
    public init(socketPath: String?, watchdogInterval: Duration? = nil) {
        let path = socketPath.flatMap { $0.isEmpty ? nil : $0 }
        self.socketPath = path
        self.watchdogInterval = watchdogInterval
        // socket(2): SOCK_CLOEXEC so that GStreamer's or any child process does not inherit it.
        fd = path == nil ? -1 : socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Whether notifications go anywhere.
    public var isEnabled: Bool { fd >= 0 }

    /// Sends `state` (`KEY=VALUE` lines) with `sendto(2)`.
    /// - Returns: false when not under systemd or when the datagram could not be sent (the error is not
    ///   fatal: the daemon works without systemd).
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard fd >= 0, let socketPath else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(socketPath.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity || (abstract && bytes.count <= capacity) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        // Abstract names are exactly as long as given (no terminating NUL); paths end at their NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let message = Array(state.utf8)
        while true {
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
                }
            }
            if sent >= 0 { return true }
            if errno != EINTR { return false }
        }
    }

    /// `READY=1` with a status line.
    @discardableResult
    public func ready(status: String) -> Bool { notify("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())") }

    /// `STATUS=…` (shown by `systemctl status`).
    @discardableResult
    public func status(_ text: String) -> Bool { notify("STATUS=\(text)") }

    /// `WATCHDOG=1`.
    @discardableResult
    public func watchdog() -> Bool { notify("WATCHDOG=1") }

    /// `STOPPING=1` with a status line.
    @discardableResult
    public func stopping(status: String) -> Bool { notify("STOPPING=1\nSTATUS=\(status)") }
}
