import Plumbing
import Synchronization
import WireProtocol
import ZeroMQ

/// What the daemon implements to carry out control commands.
///
/// `handle` runs on the control server's thread, one command at a time, with a command that has passed
/// all syntactic checks (`ControlProtocol`). Return the `result` object of the reply, or throw a
/// `WireProtocolError` (`.unknownPhrase`, `.unknownStream`, `.streamNotDeclared`, …) to reply with an
/// error. It must not block for long: other clients wait meanwhile.
public protocol ControlHandler: Sendable {
    func handle(_ command: ControlCommand) throws(WireProtocolError) -> JSONValue
}

/// Serves the control protocol on a ROUTER socket on its own thread.
///
/// Several clients at once (REQ or DEALER); each request gets exactly one reply, errors included,
/// unless the client is gone. Bad input never stops the server: over-size requests (up to 16× the
/// limit) get `message_too_large`; beyond that, `ZMQ_MAXMSGSIZE` makes libzmq drop the connection
/// without reading the message.
///
/// Thread-safety: `start`, `stop` and `statistics` may be called from any thread.
public final class ControlServer: Sendable {
    public struct Configuration: Sendable {
        /// The endpoint to bind; by default loopback only.
        public var endpoint: String
        /// Accept an endpoint reachable from other machines (`tcp://*`, a LAN address). Off by default.
        public var allowNonLocalEndpoint: Bool
        public var limits: ControlLimits
        /// CurveZMQ server settings, nil for a plain socket.
        public var curve: CurveServerConfiguration?

        public init(endpoint: String = "tcp://127.0.0.1:5560", allowNonLocalEndpoint: Bool = false,
                    limits: ControlLimits = ControlLimits(), curve: CurveServerConfiguration? = nil) {
            self.endpoint = endpoint
            self.allowNonLocalEndpoint = allowNonLocalEndpoint
            self.limits = limits
            self.curve = curve
        }
    }

    public struct Statistics: Sendable, Equatable {
        /// Requests answered.
        public var requests: UInt64 = 0
        /// Of those, answered with an error.
        public var errors: UInt64 = 0
        /// Replies that could not be delivered (client gone or its queue full).
        public var undelivered: UInt64 = 0
    }

    public let configuration: Configuration
    private let context: Context
    private let handler: any ControlHandler
    private let waker: Waker
    private let stats = Mutex(Statistics())
    private let running = Mutex(false)
    private let thread = Mutex<ServiceThread?>(nil)

    public init(context: Context, configuration: Configuration, handler: any ControlHandler) throws(TransportError) {
        try EndpointPolicy.check(configuration.endpoint, allowNonLocal: configuration.allowNonLocalEndpoint, what: "control")
        self.context = context
        self.configuration = configuration
        self.handler = handler
        do { waker = try Waker() } catch { throw .socket(error, "cannot create the control server's wake-up pipe") }
    }

    /// Binds the ROUTER socket on the server thread and starts serving.
    /// - Returns: the bound endpoint (with the real port for `tcp://127.0.0.1:*`).
    @discardableResult
    public func start() throws(TransportError) -> String {
        try configuration.curve?.checkAuthenticator(context)
        if running.withLock({ was in defer { was = true }; return was }) {
            throw TransportError(.state, "the control server is already running")
        }
        let context = self.context, configuration = self.configuration
        do throws(TransportError) {
            let (thread, endpoint) = try ServiceThread.startService(name: "referstream.control") { [self] (ready: @escaping @Sendable (Result<String, TransportError>) -> Void) in
                let socket: Socket
                let endpoint: String
                do throws(ZeroMQError) {
                    socket = try Socket(context, .router)
                    try socket.set(.routerMandatory(true))
                    try socket.set(.maxMessageSize(Int64(configuration.limits.maxMessageBytes) * 16))
                    try socket.set(.receiveHighWaterMark(1000))
                    try socket.set(.sendHighWaterMark(1000))
                    try configuration.curve?.apply(to: socket)
                    try socket.bind(configuration.endpoint)
                    endpoint = try socket.lastEndpoint()
                } catch {
                    ready(.failure(.socket(error, "cannot bind the control socket to \(configuration.endpoint)")))
                    return
                }
                ready(.success(endpoint))
                serve(socket)
            }
            self.thread.withLock { $0 = thread }
            return endpoint
        } catch {
            running.withLock { $0 = false }
            throw error
        }
    }

    /// Stops serving, closes the socket and joins the thread. Idempotent.
    public func stop() {
        guard running.withLock({ $0 }) else { return }
        waker.wake()
        thread.withLock { $0.take() }?.join()
        waker.drain()
        running.withLock { $0 = false }
    }

    public var statistics: Statistics { stats.withLock { $0 } }

    private func serve(_ socket: Socket) {
        let poller = Poller()
        let socketIndex = poller.add(socket)
        let wakerIndex = poller.add(waker)
        while true {
            guard let ready = try? poller.poll(timeoutMilliseconds: -1) else { return }
            if ready[wakerIndex] { return }
            guard ready[socketIndex] else { continue }
            // Answer everything that is queued before polling again.
            while let message = try? socket.receiveRouted(timeoutMilliseconds: 0) {
                let reply: ControlResponse
                if message.body.count == 1 {
                    reply = ControlProtocol.respond(to: message.body[0], limits: configuration.limits) { command throws(WireProtocolError) in
                        try handler.handle(command)
                    }
                } else {
                    reply = ControlResponse(id: nil, outcome: .failure(WireProtocolError(
                        .invalidRequest, "send exactly one frame per request (got \(message.body.count))")))
                }
                stats.withLock { s in
                    s.requests += 1
                    if case .failure = reply.outcome { s.errors += 1 }
                }
                let delivered = (try? socket.send(routed: message.reply([reply.jsonBytes()]), dontWait: true)) ?? false
                if !delivered { stats.withLock { $0.undelivered += 1 } }
            }
        }
    }
}
