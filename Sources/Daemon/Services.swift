import Foundation
import Logging
import ServiceLifecycle

// The daemon's long-running units as swift-service-lifecycle services. `Daemon.run` lists them as
// publisher, inference, ingest, control, http; the group shuts them down in reverse order. Each one's
// blocking work lives on its own threads (sockets, GStreamer, BLAS); `run` only waits for the graceful
// shutdown and then stops its part.

/// Control: the ROUTER socket was bound by `Daemon.bind`; stops first, so no command races shutdown.
struct ControlService: Service {
    let daemon: Daemon
    func run() async throws {
        try? await gracefulShutdown()
        daemon.control.stop()
        daemon.logger.debug("control stopped")
    }
}

/// Ingest: starts the enabled streams; on shutdown stops every source and ingest thread.
struct IngestService: Service {
    let daemon: Daemon
    func run() async throws {
        daemon.startStreams()
        try? await gracefulShutdown()
        daemon.notifier.stopping(status: "stopping")
        daemon.hub.stopAll(reason: "shutdown")
        daemon.logger.debug("sources stopped")
    }
}

/// Inference: the loop's dedicated thread; on shutdown the window in flight finishes or is abandoned.
struct InferenceService: Service {
    let daemon: Daemon
    func run() async throws {
        daemon.inference.start()
        try? await gracefulShutdown()
        let inference = daemon.inference
        // `join` blocks a thread: wait for it off the cooperative pool.
        let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let thread = Thread { continuation.resume(returning: inference.join(timeout: Daemon.inferenceGrace)) }
            thread.name = "referstream.shutdown"
            thread.start()
        }
        if !finished { daemon.logger.warning("the window in flight did not finish within \(Daemon.inferenceGrace); abandoned") }
    }
}

/// `/metrics` and `/healthz`, when `metrics.listen` is set.
struct HTTPService: Service {
    let daemon: Daemon
    func run() async throws {
        guard let listen = daemon.configuration.metrics.listen else {
            try? await gracefulShutdown()
            return
        }
        let publisher = daemon.publisher, control = daemon.control, metrics = daemon.metrics
        try await HTTPEndpoint(
            address: listen, hub: daemon.hub, metrics: metrics, deadAfter: daemon.configuration.metrics.deadAfter,
            refresh: {
                let p = publisher.statistics
                metrics.advance("referstream_masks_published_total", to: Int64(p.published))
                metrics.advance("referstream_publish_dropped_total", to: Int64(p.dropped))
                metrics.advance("referstream_events_published_total", to: Int64(p.events))
                let c = control.statistics
                metrics.advance("referstream_control_requests_total", ["result": "ok"], to: Int64(c.requests - c.errors))
                metrics.advance("referstream_control_requests_total", ["result": "error"], to: Int64(c.errors))
            }
        ).run()
    }
}

/// The publisher: bound by `Daemon.bind`; stops last, after the sources' final `stream.stopped` events
/// were queued, and sends what is queued before closing.
struct PublisherService: Service {
    let daemon: Daemon
    func run() async throws {
        try? await gracefulShutdown()
        daemon.publisher.stop()
        daemon.logger.debug("publisher stopped")
    }
}
