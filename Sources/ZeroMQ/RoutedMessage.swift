import CZeroMQ

/// A message as a ROUTER socket sees it: the peer's routing identity, then the body.
///
/// REQ peers put an empty delimiter frame between the identity and the body; DEALER peers usually do
/// not. `hasDelimiter` remembers which, so a reply goes back in the shape the peer expects.
public struct RoutedMessage: Sendable, Equatable {
    /// The routing identity libzmq gave the peer.
    public var identity: [UInt8]
    /// Whether the body followed an empty delimiter frame (a REQ peer).
    public var hasDelimiter: Bool
    /// The body frames.
    public var body: [[UInt8]]

    public init(identity: [UInt8], hasDelimiter: Bool, body: [[UInt8]]) {
        self.identity = identity
        self.hasDelimiter = hasDelimiter
        self.body = body
    }

    /// The reply to this message's peer with `body`, in the same envelope.
    public func reply(_ body: [[UInt8]]) -> RoutedMessage {
        RoutedMessage(identity: identity, hasDelimiter: hasDelimiter, body: body)
    }
}

extension Socket {
    /// Receives one message on a ROUTER socket, split into identity and body (see `receive`).
    /// - Returns: nil on timeout.
    public func receiveRouted(timeoutMilliseconds: Int) throws(ZeroMQError) -> RoutedMessage? {
        guard let parts = try receive(timeoutMilliseconds: timeoutMilliseconds), let identity = parts.first else { return nil }
        // [identity, "", body…] is a REQ envelope; [identity, ""] alone can only be a DEALER's empty
        // request (REQ always sends a body after the delimiter).
        if parts.count >= 3 && parts[1].isEmpty {
            return RoutedMessage(identity: identity, hasDelimiter: true, body: Array(parts.dropFirst(2)))
        }
        return RoutedMessage(identity: identity, hasDelimiter: false, body: Array(parts.dropFirst()))
    }

    /// Sends `message` on a ROUTER socket: identity, the delimiter if the peer used one, then the body.
    /// With `dontWait`, a peer whose queue is full returns `false`; with `ZMQ_ROUTER_MANDATORY` an
    /// unknown or gone peer throws `EHOSTUNREACH`.
    @discardableResult
    public func send(routed message: RoutedMessage, dontWait: Bool = true) throws(ZeroMQError) -> Bool {
        var parts = [message.identity]
        if message.hasDelimiter { parts.append([]) }
        parts += message.body
        return try send(parts, dontWait: dontWait)
    }
}

extension Context {
    /// Makes every blocking call on this context's sockets return `ETERM` (`zmq_ctx_shutdown`), from
    /// any thread. Sockets must still be closed (released) before the context is.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }
}
