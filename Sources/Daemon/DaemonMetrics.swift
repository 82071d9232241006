import CoreMetrics
import Foundation
import Prometheus

/// The daemon's metrics: swift-metrics handles backed by a Prometheus registry of this daemon's own
/// (no global bootstrap, so several daemons in one process, as in tests, do not mix their numbers).
///
/// Counters that other components keep themselves (GStreamer frames received, the publisher's and the
/// control server's totals) are brought in by `advance(_:to:)`, which increments a counter by what its
/// source counted since the last scrape.
///
/// Thread-safety: every method may be called from any thread.
final class DaemonMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let lock = NSLock()
    // Safety: only accessed with `lock` held.
    nonisolated(unsafe) private(set) var counters: [String: CoreMetrics.Counter] = [:]
    nonisolated(unsafe) private(set) var floatingCounters: [String: CoreMetrics.FloatingPointCounter] = [:]
    nonisolated(unsafe) private(set) var gauges: [String: CoreMetrics.Gauge] = [:]
    nonisolated(unsafe) private(set) var timers: [String: CoreMetrics.Timer] = [:]
    nonisolated(unsafe) private var lastTotals: [String: Int64] = [:]

    /// Stream states reported by `referstream_stream_state`.
    static let states = ["connecting", "live", "stalled", "reconnecting", "eos", "failed", "stopped"]

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Frame age at publish: from a few milliseconds (an idle pipeline) to seconds (an overloaded one).
        let age: [Duration] = [.milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                               .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)]
        factory.durationHistogramBuckets["referstream_frame_age_seconds"] = age
        factory.durationHistogramBuckets["referstream_inference_push_seconds"] = age
        // Pipeline overhead per frame, outside the model (InferenceLoop): target ≤ 10 ms at p99.
        factory.durationHistogramBuckets["referstream_frame_overhead_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
            .milliseconds(50), .milliseconds(100), .milliseconds(250),
        ]
        self.factory = factory
        // Declared up front so that a scrape shows them at 0 before anything happened.
        for result in ["ok", "error"] { _ = counter("referstream_control_requests_total", ["result": result]) }
        _ = counter("referstream_masks_published_total", [:])
        _ = counter("referstream_publish_dropped_total", [:])
    }

    private static func key(_ name: String, _ labels: [String: String]) -> String {
        name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
    }

    private static func dimensions(_ labels: [String: String]) -> [(String, String)] {
        labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The handle for `name{labels}`, made once by `make` and kept in `table`.
    private func cached<Handle>(_ table: ReferenceWritableKeyPath<DaemonMetrics, [String: Handle]>, _ name: String,
                                _ labels: [String: String], _ make: (String, [(String, String)]) -> Handle) -> Handle {
        let key = Self.key(name, labels)
        return lock.withLock {
            if let handle = self[keyPath: table][key] { return handle }
            let handle = make(name, Self.dimensions(labels))
            self[keyPath: table][key] = handle
            return handle
        }
    }

    func counter(_ name: String, _ labels: [String: String]) -> CoreMetrics.Counter {
        cached(\.counters, name, labels) { CoreMetrics.Counter(label: $0, dimensions: $1, factory: factory) }
    }

    func gauge(_ name: String, _ labels: [String: String]) -> CoreMetrics.Gauge {
        cached(\.gauges, name, labels) { CoreMetrics.Gauge(label: $0, dimensions: $1, factory: factory) }
    }

    func timer(_ name: String, _ labels: [String: String]) -> CoreMetrics.Timer {
        cached(\.timers, name, labels) { CoreMetrics.Timer(label: $0, dimensions: $1, factory: factory) }
    }

    /// Adds `seconds` to a floating-point counter (inference time per stage).
    func add(seconds: Double, to name: String, _ labels: [String: String]) {
        guard seconds > 0 else { return }
        cached(\.floatingCounters, name, labels) { CoreMetrics.FloatingPointCounter(label: $0, dimensions: $1, factory: factory) }
            .increment(by: seconds)
    }

    /// Increments a counter by how much `total` (a running total kept elsewhere) grew since last time.
    func advance(_ name: String, _ labels: [String: String] = [:], to total: Int64) {
        let key = Self.key(name, labels)
        let delta = lock.withLock { () -> Int64 in
            let last = lastTotals[key] ?? 0
            lastTotals[key] = max(last, total)
            return total - last
        }
        if delta > 0 { counter(name, labels).increment(by: delta) }
    }

    /// Creates a stream's series at 0, so that a scrape shows them before the first frame.
    func declare(stream: String) {
        let labels = ["stream": stream]
        for name in ["referstream_frames_received_total", "referstream_frames_processed_total", "referstream_reconnects_total",
                     "referstream_windows_total", "referstream_masks_offered_total"] {
            _ = counter(name, labels)
        }
        for place in ["source", "queue"] { _ = counter("referstream_frames_dropped_total", ["stream": stream, "where": place]) }
        _ = timer("referstream_frame_age_seconds", labels)
        _ = timer("referstream_inference_push_seconds", labels)
        _ = timer("referstream_frame_overhead_seconds", labels)
    }

    /// Sets `referstream_stream_state{stream, state}` to 1 for `state` and 0 for the others.
    func setState(_ state: String, stream: String) {
        for s in Self.states { gauge("referstream_stream_state", ["stream": stream, "state": s]).record(s == state ? 1 : 0) }
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> String { registry.emitToString() }
}
