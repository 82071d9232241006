import CZeroMQ

/// The socket types ReferStream uses.
public enum SocketType: Sendable {
    case pub, sub, req, rep, router, dealer, push, pull, pair
    /// The forwarding ends of a PUB/SUB proxy (`referstream proxy`).
    case xpub, xsub

    var raw: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pair: ZMQ_PAIR
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        }
    }
}

/// A libzmq socket (`zmq_socket`), closed in `deinit` (`zmq_close`).
///
/// Not `Sendable`: a libzmq socket must be used from one thread at a time, so the type system keeps it
/// on the thread (or the isolation domain) that made it. The socket keeps its context alive.
public final class Socket {
    let handle: UnsafeMutableRawPointer
    public let context: Context
    public let type: SocketType

    /// Creates a socket of `type` in `context` (`zmq_socket`). Linger is 0 by default: closing never
    /// waits for unsent messages (a daemon must be able to stop while a subscriber is gone).
    public init(_ context: Context, _ type: SocketType) throws(ZeroMQError) {
        guard let handle = zmq_socket(context.handle, type.raw) else {
            throw ZeroMQError.last("zmq_socket")
        }
        self.handle = handle
        self.context = context
        self.type = type
        try setOption(ZMQ_LINGER, Int32(0), "ZMQ_LINGER")
    }

    deinit { zmq_close(handle) }

    /// Binds to `endpoint` (`zmq_bind`), e.g. `tcp://127.0.0.1:5555` or `ipc:///run/referstream/control`.
    public func bind(_ endpoint: String) throws(ZeroMQError) {
        if zmq_bind(handle, endpoint) != 0 { throw ZeroMQError.last("zmq_bind(\(endpoint))") }
    }

    /// Connects to `endpoint` (`zmq_connect`).
    public func connect(_ endpoint: String) throws(ZeroMQError) {
        if zmq_connect(handle, endpoint) != 0 { throw ZeroMQError.last("zmq_connect(\(endpoint))") }
    }

    /// The endpoint the socket last bound to (`ZMQ_LAST_ENDPOINT`), with the real port after binding `:*`.
    public func lastEndpoint() throws(ZeroMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        if zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) != 0 {
            throw ZeroMQError.last("zmq_getsockopt(ZMQ_LAST_ENDPOINT)")
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Subscribes a SUB socket to messages whose first frame starts with `prefix` (`ZMQ_SUBSCRIBE`).
    public func subscribe(_ prefix: [UInt8] = []) throws(ZeroMQError) {
        let rc = prefix.withUnsafeBytes { zmq_setsockopt(handle, ZMQ_SUBSCRIBE, $0.baseAddress, $0.count) }
        if rc != 0 { throw ZeroMQError.last("zmq_setsockopt(ZMQ_SUBSCRIBE)") }
    }

    func setOption(_ option: Int32, _ value: Int32, _ name: String) throws(ZeroMQError) {
        var value = value
        if zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) != 0 {
            throw ZeroMQError.last("zmq_setsockopt(\(name))")
        }
    }

    /// Sends a multipart message (`zmq_send` with `ZMQ_SNDMORE` on all parts but the last).
    ///
    /// - Parameter dontWait: use `ZMQ_DONTWAIT`; then a full queue returns `false` instead of blocking.
    /// - Returns: `true` if the message was queued, `false` if `dontWait` and the queue was full (EAGAIN).
    @discardableResult
    public func send(_ parts: [[UInt8]], dontWait: Bool = false) throws(ZeroMQError) -> Bool {
        precondition(!parts.isEmpty, "a ZeroMQ message has at least one part")
        for (index, part) in parts.enumerated() {
            var flags: Int32 = index < parts.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            while true {
                let rc = part.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if rc >= 0 { break }
                let error = ZeroMQError.last("zmq_send")
                if error.errno == EINTR { continue }
                // libzmq queues multipart messages atomically: EAGAIN can only happen on the first part.
                if error.errno == EAGAIN && dontWait && index == 0 { return false }
                throw error
            }
        }
        return true
    }

    /// Receives one multipart message, waiting at most `timeoutMilliseconds` (-1: forever) for its
    /// first part (`zmq_poll`, then `zmq_msg_recv` for each part).
    /// - Returns: the parts, or nil on timeout.
    public func receive(timeoutMilliseconds: Int) throws(ZeroMQError) -> [[UInt8]]? {
        guard try poll(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
        var parts: [[UInt8]] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        repeat {
            while zmq_msg_recv(&message, handle, 0) < 0 {
                let error = ZeroMQError.last("zmq_msg_recv")
                if error.errno != EINTR { throw error }
            }
            let size = zmq_msg_size(&message)
            let data = zmq_msg_data(&message)
            parts.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size)))
        } while zmq_msg_more(&message) != 0
        return parts
    }

    /// Waits until a message can be received (`zmq_poll` with `ZMQ_POLLIN`); false on timeout.
    public func poll(timeoutMilliseconds: Int) throws(ZeroMQError) -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0)
        while true {
            let rc = zmq_poll(&item, 1, timeoutMilliseconds)
            if rc >= 0 { return rc > 0 }
            let error = ZeroMQError.last("zmq_poll")
            if error.errno != EINTR { throw error }
        }
    }
}
