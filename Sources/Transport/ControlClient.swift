import Foundation
import WireProtocol
import ZeroMQ

/// Sends control requests to the daemon and never hangs ("lazy pirate"): a REQ socket waits at most
/// `timeoutMilliseconds` for the reply; on timeout it is thrown away (a REQ socket that missed a reply
/// cannot send again) and the request is sent once more on a fresh socket; then it gives up with
/// `TransportError.timeout`.
///
/// Not `Sendable`: it owns sockets, which live on one thread.
public final class ControlClient {
    public let endpoint: String
    public let timeoutMilliseconds: Int
    /// Extra attempts after the first, each on a fresh socket.
    public let retries: Int
    private let context: Context
    private let curve: CurveClientConfiguration?
    private var nextID: Int64 = 1

    public init(context: Context, endpoint: String, timeoutMilliseconds: Int = 3000, retries: Int = 1,
                curve: CurveClientConfiguration? = nil) {
        self.context = context
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
        self.retries = retries
        self.curve = curve
    }

    /// Sends `command` and returns the daemon's reply (which may be an error reply: see `outcome`).
    /// - Throws: `.timeout` when no reply came, `.protocolViolation` for a reply that is not the protocol
    ///   or answers another id, `.socket` for libzmq failures.
    public func send(_ command: ControlCommand) throws(TransportError) -> ControlResponse {
        let id = RequestID.int(nextID)
        nextID += 1
        let replyBytes = try exchange(ControlProtocol.request(id: id, command: command))
        let response: ControlResponse
        do {
            response = try ControlResponse(jsonBytes: replyBytes)
        } catch {
            throw TransportError(.protocolViolation, "the daemon's reply is not a control response: \(error.message)", protocolError: error)
        }
        guard response.id == id else {
            throw TransportError(.protocolViolation, "the reply answers request \(response.id.map(\.description) ?? "null"), not \(id)")
        }
        return response
    }

    /// Sends raw request bytes and returns the raw reply (tests, and tools that speak the JSON directly).
    public func exchange(_ request: [UInt8]) throws(TransportError) -> [UInt8] {
        for attempt in 0...max(0, retries) {
            let socket: Socket
            do throws(ZeroMQError) {
                socket = try Socket(context, .req)
                try curve?.apply(to: socket)
                try socket.connect(endpoint)
                guard try socket.send([request], dontWait: true) else { continue }
                if let reply = try socket.receive(timeoutMilliseconds: timeoutMilliseconds) {
                    guard reply.count == 1 else {
                        throw ZeroMQError(errno: EPROTO, operation: "reply with \(reply.count) frames")
                    }
                    return reply[0]
                }
            } catch {
                throw .socket(error, "control request to \(endpoint) (attempt \(attempt + 1))")
            }
        }
        throw TransportError(
            .timeout,
            "no reply from \(endpoint) within \(timeoutMilliseconds) ms (\(retries + 1) attempts): is the daemon running, and is this its control endpoint?")
    }
}
