import Foundation
import Testing
import VideoIngest
import WireProtocol
@testable import Daemon

@Suite("Daemon configuration (YAML)")
struct ConfigurationTests {
    @Test("the example configuration parses, with every documented key")
    func example() throws {
        let path = DaemonTestSupport.packageRoot.appendingPathComponent("config/referstreamd.yaml").path
        let c = try DaemonConfiguration(contentsOfFile: path)
        #expect(c.model.threads == 2)
        #expect(c.transport.masks == ["tcp://127.0.0.1:5561"])
        #expect(c.transport.control == "tcp://127.0.0.1:5560")
        #expect(c.transport.encoding == .rle)
        #expect(c.metrics.listen == HostPort(host: "127.0.0.1", port: 9464))
        let cam0 = try #require(c.stream("cam0"))
        #expect(cam0.kind == "rtsp")
        #expect(cam0.source.input == .rtsp(.init(url: "rtsp://127.0.0.1:8554/cam")))
        #expect(cam0.window == (3, 3) as (Int, Int))
        #expect(cam0.phrases == [.init(id: "p1", text: "the person in the red jacket")])
    }

    @Test("values reach the source configuration; phrase ids are numbered across streams")
    func values() throws {
        let c = try DaemonConfiguration(yaml: """
            model: {weights: /m/w.safetensors, threads: 4, shorter_side: 128}
            transport: {masks: [tcp://127.0.0.1:7001, ipc:///tmp/m], encoding: bits}
            metrics: {listen: "[::1]:9000", dead_after: 2.5}
            streams:
              - id: a
                source: file
                params: {location: /v/a.mp4, live: true}
                phrases: ["one", {id: mine, text: "  two  "}]
              - id: b
                source: test
                params: {pattern: ball, live: true, frames: 10, width: 64, height: 48, framerate: 5}
                window: {length: 5, stride: 2}
                enabled: false
                phrases: ["three"]
            """)
        #expect(c.model.weights == "/m/w.safetensors" && c.model.threads == 4 && c.model.shorterSide == 128)
        #expect(c.transport.masks == ["tcp://127.0.0.1:7001", "ipc:///tmp/m"] && c.transport.encoding == .bits)
        #expect(c.metrics.listen == HostPort(host: "::1", port: 9000) && c.metrics.deadAfter == .milliseconds(2500))
        #expect(c.streams[0].source.input == .file(.init(path: "/v/a.mp4", realtime: true)))
        #expect(c.streams[0].source.isLive)
        #expect(c.streams[0].phrases == [.init(id: "p1", text: "one"), .init(id: "mine", text: "two")])
        #expect(c.streams[1].source.input == .test(.init(pattern: "ball", live: true, frameCount: 10, width: 64, height: 48, framerate: 5)))
        #expect(c.streams[1].window == (5, 2) as (Int, Int) && !c.streams[1].enabled)
        #expect(c.streams[1].phrases == [.init(id: "p2", text: "three")])
        #expect(c.streams[0].source.output == .original)
    }

    /// Each mistake gives one error that names the key and the line it is on.
    @Test("errors name the key and the line", arguments: [
        ("model:\n  threads: 2\n  weigths: /x\n", DaemonError.Code.unknownKey, "model.weigths", 3),
        ("model:\n  threads: two\n", .invalidValue, "model.threads", 2),
        ("model:\n  threads: 0\n", .invalidValue, "model.threads", 2),
        ("transport:\n  encoding: jpeg\n", .invalidValue, "transport.encoding", 2),
        ("transport:\n  control: 127.0.0.1:5560\n", .invalidValue, "transport.control", 2),
        ("metrics:\n  listen: nowhere\n", .invalidValue, "metrics.listen", 2),
        ("streams:\n  - id: cam0\n    source: webcam\n", .unknownTemplate, "streams[0].source", 3),
        ("streams:\n  - id: cam0\n    source: rtsp\n    params: {url: rtsp://x}\n", .unknownKey, "streams[0].params.url", 4),
        ("streams:\n  - id: cam0\n    source: rtsp\n    params: {location: http://x}\n", .invalidValue, "streams[0].params", 4),
        ("streams:\n  - id: cam0\n    source: file\n", .missingKey, "streams[0].params.location", 2),
        ("streams:\n  - id: cam/0\n    source: test\n", .invalidValue, "streams[0].id", 2),
        ("streams:\n  - id: a\n    source: test\n  - id: a\n    source: test\n", .invalidValue, "streams[1].id", 4),
        ("streams:\n  - id: a\n    source: test\n    window: {length: 2, stride: 3}\n", .invalidValue, "streams[0].window.stride", 4),
        ("streams:\n  - id: a\n    source: test\n    phrases: [\"x\", {id: p1, text: y}]\n", .invalidValue, "streams[0].phrases[1]", 4),
        ("streams:\n  - id: a\n    source: test\n    phrases: [\"  \"]\n", .invalidValue, "streams[0].phrases[0]", 4),
        ("cameras: []\n", .unknownKey, "cameras", 1),
        ("model: [1, 2\n", .unreadable, nil, 2),
    ] as [(String, DaemonError.Code, String?, Int)])
    func errors(yaml: String, code: DaemonError.Code, key: String?, line: Int) {
        do {
            _ = try DaemonConfiguration(yaml: yaml, file: "test.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.key == key, "\(error)")
            #expect(error.line == line, "\(error)")
            #expect("\(error)".hasPrefix("test.yaml:\(line): \(key.map { $0 + ": " } ?? "")"), "\(error)")
        }
    }

    @Test("host:port")
    func hostPort() {
        #expect(HostPort("127.0.0.1:9464") == HostPort(host: "127.0.0.1", port: 9464))
        #expect(HostPort(":80") == HostPort(host: "0.0.0.0", port: 80))
        #expect(HostPort("[::1]:1") == HostPort(host: "::1", port: 1))
        #expect(HostPort("host") == nil && HostPort("h:99999") == nil)
    }
}
