import Testing
import WireProtocol
@testable import Daemon

@Suite("/healthz verdicts")
struct HealthTests {
    func report(_ id: String, active: Bool = true, finished: Bool = false, failure: String? = nil, silent: Double?) -> StreamHub.StreamReport {
        StreamHub.StreamReport(id: id, state: "live", active: active, finished: finished, failure: failure, silentFor: silent,
                               received: 10, processed: 9, dropped: 1, sourceDropped: 0, reconnects: 0, phrases: 1)
    }

    @Test("dead: running and silent past the threshold, or failed and silent; not dead: fresh, finished, stopped")
    func verdicts() {
        let (status, body) = Health.report([
            report("fresh", silent: 0.5),
            report("gone", silent: 31),
            report("file-done", finished: true, silent: 100),
            report("file-failed", finished: true, failure: "decode error", silent: 40),
            report("removed", active: false, silent: nil),
        ], deadAfter: .seconds(30))
        #expect(status == 503)
        #expect(body["dead"] == .array([.string("gone"), .string("file-failed")]))
        #expect(body["status"] == .string("dead"))
        let (ok, healthy) = Health.report([report("fresh", silent: 29.9)], deadAfter: .seconds(30))
        #expect(ok == 200 && healthy["status"] == .string("ok") && healthy["dead"] == .array([]))
    }
}
