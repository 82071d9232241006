import FlyingFox
import Foundation
import ServiceLifecycle

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
            let (status, body) = Health.report(hub.reports(), deadAfter: deadAfter)
            return HTTPResponse(statusCode: status == 200 ? .ok : .serviceUnavailable,
                                headers: [.contentType: "application/json"], body: Data(body.jsonBytes()))
        }
        // The server runs in a child task; at graceful shutdown its listening socket is closed
        // (`stop`), which ends `run` (with an error about the closed socket that means nothing here).
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await server.run() }
            try? await gracefulShutdown()
            await server.stop(timeout: 0)
            group.cancelAll()
        }
    }
}
