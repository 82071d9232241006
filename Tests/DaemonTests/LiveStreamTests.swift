import Foundation
import Testing

/// The loopback RTSP server of the ingest tests (Tests/Fixtures/ingest/rtsp_server.py): a live 320x240
/// H.264 test pattern at rtsp://127.0.0.1:PORT/test.
final class RTSPServerProcess {
    let child: ChildProcess

    init(python: String, port: Int) throws {
        child = try ChildProcess("rtsp-server", executable: python, arguments: [
            DaemonTestSupport.fixtures.appendingPathComponent("ingest/rtsp_server.py").path, String(port),
        ])
        guard child.waitForLine(timeout: 30, { $0.hasPrefix("READY") }) != nil else {
            throw TestFailure("the RTSP server did not start: \(child.stderr.joined(separator: "\n"))")
        }
    }

    /// SIGKILL: the server vanishes without a teardown, like a camera losing power.
    func kill() {
        child.signal(SIGKILL)
        _ = child.waitForExit(timeout: 10)
    }
}

/// Scrapes /metrics and /healthz with the Python client (prometheus_client's parser).
struct Scrape {
    var metrics: [String: Double]
    var types: [String: String]
    var healthStatus: Int
    var health: [String: Any]

    init(python: String, address: String) throws {
        let result = try DaemonTestSupport.run(python, [DaemonTestSupport.scripts.appendingPathComponent("scrape.py").path, address])
        guard result.status == 0, let data = result.stdout.data(using: .utf8),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestFailure("scrape failed (\(result.status)): \(result.stdout) \(result.stderr)")
        }
        metrics = (object["metrics"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
        types = object["types"] as? [String: String] ?? [:]
        healthStatus = object["health_status"] as? Int ?? 0
        health = object["health"] as? [String: Any] ?? [:]
    }

    subscript(_ key: String) -> Double? { metrics[key] }

    var dead: [String] { health["dead"] as? [String] ?? [] }
}

@Suite("referstreamd with live sources (RTSP restarts, dead streams, slow subscribers, metrics)", .serialized,
       .enabled(if: DaemonTestSupport.python != nil && DaemonTestSupport.haveExecutables,
                "needs REFERSTREAM_PYTHON (pyzmq, prometheus_client, gi) and the built executables"))
struct LiveStreamTests {
    @Test("/metrics parses as Prometheus text and its counters move; /healthz reports a dead stream with 503; stream.remove and stream.add at runtime")
    func metricsAndHealth() throws {
        let python = try #require(DaemonTestSupport.python)
        let directory = try DaemonTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = directory.appendingPathComponent("clip.mp4").path
        let frames = 24
        try DaemonTestSupport.makeClip(at: clip, frames: frames)
        let masks = try DaemonTestSupport.freePort(), control = try DaemonTestSupport.freePort(), http = try DaemonTestSupport.freePort()
        let nobody = try DaemonTestSupport.freePort()  // nothing listens: the RTSP stream never delivers a frame
        let daemon = try DaemonProcess(configuration: DaemonTestSupport.configuration(streams: """
              - id: clip
                source: file
                params: {location: \(clip)}
                phrases: ["the ball"]
              - id: dead
                source: rtsp
                params: {location: "rtsp://127.0.0.1:\(nobody)/cam", timeout: 1}
                phrases: ["the ball"]
            """, masks: masks, control: control, http: http), control: control, directory: directory)
        let address = "127.0.0.1:\(http)"

        let first = try Scrape(python: python, address: address)
        #expect(first.types["referstream_frames_processed"] == "counter", "\(first.types)")
        #expect(first.types["referstream_frame_age_seconds"] == "histogram")
        #expect(first.types["referstream_stream_state"] == "gauge")
        #expect(first["referstream_phrases{stream=clip}"] == 1)

        // Poll until every frame of the clip was published and the RTSP stream has been silent past dead_after (3 s).
        var last = first
        let deadline = Date(timeIntervalSinceNow: 180)
        while Date() < deadline {
            last = try Scrape(python: python, address: address)
            if last["referstream_frame_age_seconds_count{stream=clip}"] == Double(frames), last.healthStatus == 503 { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(last["referstream_frames_processed_total{stream=clip}"] == Double(frames))
        #expect(last["referstream_frames_received_total{stream=clip}"] == Double(frames))
        #expect((last["referstream_masks_published_total{}"] ?? 0) >= Double(frames), "\(last.metrics.filter { $0.key.contains("masks") })")
        #expect((last["referstream_frame_age_seconds_count{stream=clip}"] ?? 0) == Double(frames))
        // One overhead observation per processed frame; the histogram's buckets are cumulative.
        #expect(first.types["referstream_frame_overhead_seconds"] == "histogram")
        #expect(last["referstream_frame_overhead_seconds_count{stream=clip}"] == Double(frames))
        #expect(last["referstream_frame_overhead_seconds_bucket{le=+Inf,stream=clip}"] == Double(frames),
                "\(last.metrics.filter { $0.key.hasPrefix("referstream_frame_overhead") })")
        #expect((last["referstream_windows_total{stream=clip}"] ?? 0) >= Double(frames / 3))
        #expect((last["referstream_inference_stage_seconds_total{stage=backbone}"] ?? 0) > 0)
        #expect(last["referstream_stream_state{state=eos,stream=clip}"] == 1)
        #expect(last["referstream_stream_state{state=live,stream=dead}"] == 0)
        #expect(last.healthStatus == 503 && last.dead == ["dead"], "health \(last.healthStatus): \(last.health)")

        // Control requests are counted by result; removing the dead stream makes the daemon healthy.
        let status = try daemon.cli(["status"])
        #expect(status.status == 0, "\(status.stderr)")
        let removed = try daemon.cli(["stream", "remove", "dead"])
        #expect(removed.status == 0, "stream remove: \(removed.stdout) \(removed.stderr)")
        let missing = try daemon.cli(["stream", "add", "nosuch"])
        #expect(missing.status == 1 && missing.stderr.contains("stream_not_declared"), "\(missing.stderr)")
        let healthy = try Scrape(python: python, address: address)
        #expect(healthy.healthStatus == 200 && healthy.dead.isEmpty, "\(healthy.health)")
        #expect(healthy["referstream_stream_state{state=stopped,stream=dead}"] == 1)
        #expect((healthy["referstream_control_requests_total{result=ok}"] ?? 0) >= 2)
        #expect((healthy["referstream_control_requests_total{result=error}"] ?? 0) >= 1)
        let added = try daemon.cli(["stream", "add", "dead"])
        #expect(added.status == 0 && added.stdout.contains("dead"), "stream add: \(added.stdout) \(added.stderr)")
        let list = try daemon.cli(["stream", "list", "--json"])
        #expect(list.stdout.contains("\"id\":\"dead\"") && list.stdout.contains("\"active\":true"), "\(list.stdout)")
        #expect(daemon.terminate()?.status == 0)
    }

    @Test("two streams, the RTSP server killed and restarted: the other stream never stops, the RTSP stream resumes; a subscriber that never reads does not slow the pipeline")
    func rtspRestartAndSlowSubscriber() throws {
        let python = try #require(DaemonTestSupport.python)
        let directory = try DaemonTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let rtspPort = try DaemonTestSupport.freePort()
        var server = try RTSPServerProcess(python: python, port: rtspPort)
        let masks = try DaemonTestSupport.freePort(), control = try DaemonTestSupport.freePort()
        let endpoint = "tcp://127.0.0.1:\(masks)"
        let subscriber = try Subscriber(python: python, endpoint: endpoint)
        let stalled = try Subscriber(python: python, endpoint: endpoint, stall: true)
        let daemon = try DaemonProcess(configuration: DaemonTestSupport.configuration(streams: """
              - id: steady
                source: test
                params: {pattern: ball, live: true, width: 96, height: 64, framerate: 10}
                phrases: [{id: s1, text: "the ball"}]
              - id: cam
                source: rtsp
                params: {location: "rtsp://127.0.0.1:\(rtspPort)/test", latency: 50}
                phrases: [{id: c1, text: "the ball"}]
            """, masks: masks, control: control, http: nil), control: control, directory: directory)

        #expect(subscriber.wait(timeout: 120) { ms in
            ms.filter { $0.phraseID == "s1" }.count >= 10 && ms.filter { $0.phraseID == "c1" }.count >= 10
        }, "both streams should publish")
        server.kill()
        let killedAt = Date().timeIntervalSince1970
        Thread.sleep(forTimeInterval: 4)
        server = try RTSPServerProcess(python: python, port: rtspPort)
        let backAt = Date().timeIntervalSince1970
        #expect(subscriber.wait(timeout: 90) { $0.contains { $0.phraseID == "c1" && ($0.receivedAt ?? 0) > backAt } },
                "the RTSP stream did not resume")
        let resumed = subscriber.masks(stream: "cam", phrase: "c1").compactMap(\.receivedAt).first { $0 > backAt } ?? .nan
        Thread.sleep(forTimeInterval: 1)
        let steady = subscriber.masks(stream: "steady", phrase: "s1")
        let duringOutage = steady.filter { ($0.receivedAt ?? 0) > killedAt && ($0.receivedAt ?? 0) < backAt }
        #expect(duringOutage.count >= 5, "the steady stream published \(duringOutage.count) masks during the 4 s outage")
        let events = subscriber.messages.filter { $0.stream == "cam" }.compactMap(\.eventName)
        #expect(events.contains("stream.stalled") || events.contains("stream.reconnecting"), "\(events)")
        // Frame age at publish, with a subscriber that never reads: bounded (a live queue of one frame
        // per stream), not growing with the run's length.
        let ages = steady.compactMap { m -> Double? in
            guard let p = (m.header["publish_time"] as? NSNumber)?.doubleValue, let c = (m.header["capture_time"] as? NSNumber)?.doubleValue else { return nil }
            return p - c
        }
        let maxAge = ages.max() ?? .nan
        let lastAges = ages.suffix(10)
        #expect(maxAge < 10, "frame age reached \(maxAge) s")
        print(String(format: "rtspRestart: RTSP masks resumed %.2f s after the server came back; steady stream: %d masks during the outage; frame age at publish max %.3f s, last ten mean %.3f s (%d masks), with a stalled subscriber",
                     resumed - backAt, duringOutage.count, maxAge, lastAges.reduce(0, +) / Double(max(1, lastAges.count)), ages.count))
        #expect(daemon.terminate()?.status == 0)
        server.kill()
        withExtendedLifetime(stalled) {}
    }
}
