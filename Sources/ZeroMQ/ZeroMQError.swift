import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the `ZeroMQ` module: a libzmq failure with its C error name.
public struct ZeroMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `errno` value libzmq reported (`zmq_errno()`).
    public var errno: Int32
    /// The operation that failed, e.g. "zmq_bind(tcp://127.0.0.1:5555)".
    public var operation: String

    public init(errno: Int32, operation: String) {
        self.errno = errno
        self.operation = operation
    }

    /// Captures `zmq_errno()`; call it on the line right after the failing call.
    static func last(_ operation: @autoclosure () -> String) -> ZeroMQError {
        ZeroMQError(errno: zmq_errno(), operation: operation())
    }

    /// The C name of the error (`EADDRINUSE`, `ETERM`, …), or the number when unknown.
    public var name: String {
        switch errno {
        case EAGAIN: "EAGAIN"
        case EINTR: "EINTR"
        case EINVAL: "EINVAL"
        case EFAULT: "EFAULT"
        case ENOMEM: "ENOMEM"
        case ENODEV: "ENODEV"
        case EADDRINUSE: "EADDRINUSE"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ECONNREFUSED: "ECONNREFUSED"
        case EPROTONOSUPPORT: "EPROTONOSUPPORT"
        case ENOTSUP: "ENOTSUP"
        case ENOTSOCK: "ENOTSOCK"
        case EMSGSIZE: "EMSGSIZE"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case ETERM: "ETERM"
        case EFSM: "EFSM"
        case ENOCOMPATPROTO: "ENOCOMPATPROTO"
        case EMTHREAD: "EMTHREAD"
        case ENOENT: "ENOENT"
        case EACCES: "EACCES"
        default: "errno \(errno)"
        }
    }

    public var description: String {
        "\(operation) failed: \(name) (\(String(cString: zmq_strerror(errno))))"
    }
}
