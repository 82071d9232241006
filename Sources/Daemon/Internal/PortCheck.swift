import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether a TCP port can be listened on, checked before anything starts so that "port in use" is a
/// configuration error with the key and line rather than a failure after `READY=1`.
enum PortCheck {
    /// Binds (and closes) a TCP socket on `address` with `SO_REUSEADDR`, as the real listeners do, so
    /// that only a port someone listens on is refused (not one in TIME_WAIT).
    static func check(_ address: HostPort, key: String, line: Int?, file: String?) throws(DaemonError) {
        guard address.port != 0 else { return }
        let ipv6 = address.host.contains(":")
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var result: Int32
        if ipv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = address.port.bigEndian
            guard inet_pton(AF_INET6, address.host, &sa.sin6_addr) == 1 else {
                throw DaemonError(.invalidValue, "'\(address.host)' is not an IPv6 address", key: key, line: line, file: file)
            }
            result = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = address.port.bigEndian
            let host = address.host == "localhost" ? "127.0.0.1" : address.host
            guard inet_pton(AF_INET, host, &sa.sin_addr) == 1 else {
                throw DaemonError(.invalidValue, "'\(address.host)' is not an IPv4 address (give a numeric address such as 127.0.0.1)", key: key, line: line, file: file)
            }
            result = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if result != 0 {
            let code = errno
            let reason = code == EADDRINUSE ? "the port is in use (another referstreamd, or another program); choose another port"
                : "cannot listen there: \(String(cString: strerror(code)))"
            throw DaemonError(.bind, "\(address): \(reason)", key: key, line: line, file: file)
        }
    }

    /// Checks a ZeroMQ `tcp://host:port` endpoint the same way; other transports and `*` ports pass.
    static func check(endpoint: String, key: String, line: Int?, file: String?) throws(DaemonError) {
        guard endpoint.hasPrefix("tcp://") else { return }
        let rest = String(endpoint.dropFirst("tcp://".count))
        guard let hostPort = HostPort(rest) else { return }
        var address = hostPort
        if rest.hasPrefix("*") { address.host = "0.0.0.0" }
        // Interface names (tcp://eth0:5561) cannot be checked here; libzmq reports them when binding.
        guard address.host.contains(":") || address.host == "localhost" || address.host.split(separator: ".").count == 4 else { return }
        try check(address, key: key, line: line, file: file)
    }
}
