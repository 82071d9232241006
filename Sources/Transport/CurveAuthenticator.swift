import Foundation
import ZeroMQ

/// The ZAP handler (ZeroMQ RFC 27) of a context: admits CURVE clients whose public key is allowed.
///
/// libzmq asks the handler bound at `inproc://zeromq.zap.01` of the socket's context about every new
/// connection to a CURVE server socket; there is one per context, so the daemon starts one with the
/// union of the allowed keys before its server sockets. Without a handler, a CURVE server accepts any
/// client that knows its public key.
public final class CurveAuthenticator: Sendable {
    private let context: Context
    private let allowed: LockedBox<Set<CurveKey>>
    private let waker: Waker
    private let thread = ServiceThread(name: "referstream.zap")
    private let decisions = LockedBox((accepted: UInt64(0), rejected: UInt64(0)))

    public init(context: Context, allowedClientKeys: Set<CurveKey>) throws(TransportError) {
        self.context = context
        self.allowed = LockedBox(allowedClientKeys)
        do { waker = try Waker() } catch { throw .socket(error, "cannot create the authenticator's wake-up pipe") }
    }

    /// Replaces the allowed keys (takes effect for new connections).
    public func setAllowedClientKeys(_ keys: Set<CurveKey>) { allowed.set(keys) }

    /// Connections accepted and rejected so far.
    public var counts: (accepted: UInt64, rejected: UInt64) { decisions.get() }

    public func start() throws(TransportError) {
        let context = self.context
        try thread.start { [self] (ready: @escaping @Sendable (Result<Void, TransportError>) -> Void) in
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
                    ok = allowed.get().contains(key)
                }
                decisions.update { d in if ok { d.accepted += 1 } else { d.rejected += 1 } }
                let reply: [[UInt8]] = [
                    version, requestID, Array((ok ? "200" : "400").utf8),
                    Array((ok ? "OK" : "client key not allowed").utf8), [], [],
                ]
                _ = try? socket.send(reply)
            }
        }
    }

    public func stop() {
        waker.wake()
        thread.join()
    }
}
