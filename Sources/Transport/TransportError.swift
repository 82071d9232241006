import WireProtocol
import ZeroMQ

/// The one error type of the `Transport` module.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// A libzmq call failed (`cause` says which and why).
        public static let socket = Code(rawValue: "socket")
        /// The daemon did not answer in time, also after the retry on a fresh socket.
        public static let timeout = Code(rawValue: "timeout")
        /// The peer sent something that is not the protocol (`protocolError` says what).
        public static let protocolViolation = Code(rawValue: "protocol")
        /// The configuration is not acceptable (e.g. binding all interfaces without opting in).
        public static let configuration = Code(rawValue: "configuration")
        /// The component is not running, or already running.
        public static let state = Code(rawValue: "state")
    }

    public var code: Code
    /// What went wrong and what to do.
    public var message: String
    /// The libzmq failure, when there was one.
    public var socketError: ZeroMQError?
    /// The protocol failure, when there was one.
    public var protocolError: WireProtocolError?

    public init(_ code: Code, _ message: String, socketError: ZeroMQError? = nil, protocolError: WireProtocolError? = nil) {
        self.code = code
        self.message = message
        self.socketError = socketError
        self.protocolError = protocolError
    }

    static func socket(_ error: ZeroMQError, _ doing: String) -> TransportError {
        TransportError(.socket, "\(doing): \(error)", socketError: error)
    }

    public var description: String { message }
}
