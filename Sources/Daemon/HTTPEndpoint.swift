import FlyingFox
import Foundation
import ServiceLifecycle
import WireProtocol

/// `GET /metrics` (Prometheus text format 0.0.4) and `GET /healthz` (JSON) on FlyingFox's HTTP server.
///
/// FlyingFox rather than Hummingbird: it depends on nothing (no SwiftNIO), so it adds seconds, not
/// minutes, to a clean CI build on two cores; two read-only GET routes need nothing more.
/// `/healthz` answers 503 when a running stream has gone without frames for longer than
/// `metrics.dead_after` (a stream that ended, like a file at its end, is not dead).
struct HTTPEndpoint: Service {
    let address: HostPort
    let hub: StreamHub
    let metrics: DaemonMetrics
    let deadAfter: Duration
    /// Extra gauges and counters brought up to date before each scrape (publisher, control server).
    let refresh: @Sendable () -> Void

    /// The `/healthz` document and its status code.
    static func health(_ reports: [StreamHub.StreamReport], deadAfter: Duration) -> (status: Int, body: JSONValue) {
        var dead: [String] = []
        let streams: [JSONValue] = reports.map { r in
            let isDead = r.active && !r.finished && (r.silentFor ?? 0) > deadAfter.seconds
            if isDead { dead.append(r.id) }
            var object: [String: JSONValue] = [
                "id": .string(r.id), "state": .string(r.state), "active": .bool(r.active), "dead": .bool(isDead),
                "last_frame_age": r.silentFor.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
                "frames_processed": .int(r.processed), "frames_dropped": .int(r.dropped),
            ]
            if let failure = r.failure { object["failure"] = .string(failure) }
            return .object(object)
        }
        let ok = dead.isEmpty
        return (ok ? 200 : 503, .object([
            "status": .string(ok ? "ok" : "dead"),
            "dead": .array(dead.map { .string($0) }),
            "dead_after": .double(deadAfter.seconds),
            "streams": .array(streams),
        ]))
    }

    func makeServer() throws -> HTTPServer {
        let server: HTTPServer
        if address.host.contains(":") {
            server = HTTPServer(address: try sockaddr_in6.inet6(ip6: address.host, port: address.port), logger: .disabled)
        } else {
            server = HTTPServer(address: try sockaddr_in.inet(ip4: address.host, port: address.port), logger: .disabled)
        }
        return server
    }

    func run() async throws {
        let server = try makeServer()
        let hub = self.hub, metrics = self.metrics, deadAfter = self.deadAfter, refresh = self.refresh
        await server.appendRoute("GET /metrics") { _ in
            hub.updateMetrics()
            refresh()
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                body: Data(metrics.exposition().utf8))
        }
        await server.appendRoute("GET /healthz") { _ in
            let (status, body) = Self.health(hub.reports(), deadAfter: deadAfter)
            return HTTPResponse(statusCode: status == 200 ? .ok : .serviceUnavailable,
                                headers: [.contentType: "application/json"], body: Data(body.jsonBytes()))
        }
        do {
            try await cancelWhenGracefulShutdown { try await server.run() }
        } catch is CancellationError {
            // Graceful shutdown: the listening socket is closed.
        }
    }
}
