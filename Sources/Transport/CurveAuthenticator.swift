import Plumbing
import Synchronization
import ZeroMQ

/// The ZAP handler (ZeroMQ RFC 27) of a context: admits CURVE clients whose public key is allowed.
///
/// libzmq asks the handler bound at `inproc://zeromq.zap.01` of the socket's context about every new
/// connection to a CURVE server socket; there is one per context, so the daemon starts one with the
/// union of the allowed keys before its server sockets. Without a handler, a CURVE server accepts any
/// client that knows its public key.
public final class CurveAuthenticator: Sendable {
    private let context: Context
    private let allowed: Mutex<Set<CurveKey>>
    private let waker: Waker
    private let thread = Mutex<ServiceThread?>(nil)
    private let decisions = Mutex((accepted: UInt64(0), rejected: UInt64(0)))

    public init(context: Context, allowedClientKeys: Set<CurveKey>) throws(TransportError) {
        self.context = context
        self.allowed = Mutex(allowedClientKeys)
        do { waker = try Waker() } catch { throw .socket(error, "cannot create the authenticator's wake-up pipe") }
    }

    /// Replaces the allowed keys (takes effect for new connections).
    public func setAllowedClientKeys(_ keys: Set<CurveKey>) { allowed.withLock { $0 = keys } }

    /// Connections accepted and rejected so far.
    public var counts: (accepted: UInt64, rejected: UInt64) { decisions.withLock { $0 } }

    /// Contexts with a running authenticator (a CURVE server with allowed keys refuses to start without
    /// one: libzmq would otherwise admit every client silently).
    private static let running = Mutex<Set<ObjectIdentifier>>([])

    /// Whether an authenticator is running on `context`.
    public static func isRunning(on context: Context) -> Bool {
        running.withLock { $0.contains(ObjectIdentifier(context)) }
    }

    public func start() throws(TransportError) {
        let context = self.context
        let (thread, _) = try ServiceThread.startService(name: "referstream.zap") { [self] (ready: @escaping @Sendable (Result<Void, TransportError>) -> Void) in
            let socket: Socket
            do throws(ZeroMQError) {
                socket = try Socket(context, .rep)
                try socket.bind("inproc://zeromq.zap.01")
            } catch {
                ready(.failure(.socket(error, "cannot bind the ZAP handler (is another one running on this context?)")))
                return
            }
            ready(.success(()))
            let poller = Poller()
            let socketIndex = poller.add(socket)
            let wakerIndex = poller.add(waker)
            while let isReady = try? poller.poll(timeoutMilliseconds: -1), !isReady[wakerIndex] {
                guard isReady[socketIndex], let request = try? socket.receive(timeoutMilliseconds: 0) else { continue }
                // Request: version, request id, domain, address, identity, mechanism, credentials…
                let version = request.first ?? []
                let requestID = request.count > 1 ? request[1] : []
                let mechanism = request.count > 5 ? String(decoding: request[5], as: UTF8.self) : ""
                var ok = false
                if mechanism == "CURVE", request.count > 6, let key = try? CurveKey(bytes: request[6]) {
                    ok = allowed.withLock { $0.contains(key) }
                }
                decisions.withLock { d in if ok { d.accepted += 1 } else { d.rejected += 1 } }
                let reply: [[UInt8]] = [
                    version, requestID, Array((ok ? "200" : "400").utf8),
                    Array((ok ? "OK" : "client key not allowed").utf8), [], [],
                ]
                _ = try? socket.send(reply)
            }
        }
        self.thread.withLock { $0 = thread }
        Self.running.withLock { _ = $0.insert(ObjectIdentifier(context)) }
    }

    /// Stops the handler and joins its thread. Call once, after `start` succeeded.
    public func stop() {
        waker.wake()
        thread.withLock { $0.take() }?.join()
        Self.running.withLock { _ = $0.remove(ObjectIdentifier(context)) }
    }
}
