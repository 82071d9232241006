import Foundation
import Testing

/// One message the Python subscriber printed (Tests/DaemonTests/Python/subscriber.py).
struct Received {
    var kind: String
    var topic: String
    var header: [String: Any]
    var event: [String: Any]
    var shape: [Int]?
    var area: Int?
    var rleArea: Int?
    var receivedAt: Double?

    init?(line: String) {
        guard let data = line.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let kind = object["kind"] as? String else { return nil }
        self.kind = kind
        topic = object["topic"] as? String ?? ""
        header = object["header"] as? [String: Any] ?? [:]
        event = object["event"] as? [String: Any] ?? [:]
        shape = object["shape"] as? [Int]
        area = object["area"] as? Int
        rleArea = object["rle_area"] as? Int
        receivedAt = object["received"] as? Double
    }

    var phraseID: String? { header["phrase_id"] as? String }
    var stream: String? { (kind == "mask" ? header["stream"] : event["stream"]) as? String }
    var frame: Int? { (header["frame"] as? NSNumber)?.intValue }
    var seq: Int? { (header["seq"] as? NSNumber)?.intValue }
    var phrase: String? { header["phrase"] as? String }
    var eventName: String? { event["event"] as? String }
}

/// A Python subscriber process and what it has received so far.
final class Subscriber: @unchecked Sendable {
    // Safety: `child` is thread-safe; `parsed` is guarded by `lock`.
    let child: ChildProcess
    private let lock = NSLock()
    private var parsed: [Received] = []
    private var parsedLines = 0

    init(python: String, endpoint: String, stall: Bool = false) throws {
        child = try ChildProcess("subscriber", executable: python,
                                 arguments: [DaemonTestSupport.scripts.appendingPathComponent("subscriber.py").path, endpoint] + (stall ? ["--stall"] : []),
                                 environment: ["PYTHONUNBUFFERED": "1"])
        guard child.waitForLine(timeout: 30, { $0 == "READY" }) != nil else {
            throw TestFailure("the Python subscriber did not start: \(child.stderr.joined(separator: "\n"))")
        }
    }

    /// Parses the lines not parsed yet (each line once).
    private func update(_ lines: [String]) -> [Received] {
        lock.withLock {
            if lines.count > parsedLines {
                parsed += lines[parsedLines...].compactMap(Received.init(line:))
                parsedLines = lines.count
            }
            return parsed
        }
    }

    var messages: [Received] { update(child.stdout) }

    func masks(stream: String, phrase: String) -> [Received] {
        messages.filter { $0.kind == "mask" && $0.stream == stream && $0.phraseID == phrase }
    }

    /// Waits until `predicate` holds for what was received; false at the timeout.
    func wait(timeout: Double, _ predicate: ([Received]) -> Bool) -> Bool {
        child.waitUntil(timeout: timeout) { lines in predicate(update(lines)) }
    }
}

/// A `referstreamd` process with a configuration written to a temporary folder.
final class DaemonProcess: @unchecked Sendable {
    // Safety: `child` is thread-safe; the other properties are constants.
    let child: ChildProcess
    let directory: URL
    let controlEndpoint: String

    init(configuration: String, control: Int, directory: URL) throws {
        self.directory = directory
        controlEndpoint = "tcp://127.0.0.1:\(control)"
        let path = directory.appendingPathComponent("referstreamd.yaml").path
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        child = try ChildProcess("referstreamd", executable: DaemonTestSupport.daemonPath, arguments: ["--config", path])
        guard child.waitForLine(stderr: true, timeout: 120, { $0.contains("ready:") }) != nil else {
            throw TestFailure("referstreamd did not become ready:\n\(child.stderr.joined(separator: "\n"))")
        }
    }

    /// Runs `referstream ARGS --control <this daemon>`.
    func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try DaemonTestSupport.run(DaemonTestSupport.cliPath, arguments + ["--control", controlEndpoint])
    }

    /// SIGTERM, then the seconds until the process was gone (nil: it did not exit within 20 s).
    func terminate() -> (seconds: Double, status: Int32)? {
        let start = Date()
        child.signal(SIGTERM)
        guard let status = child.waitForExit(timeout: 20) else { return nil }
        return (Date().timeIntervalSince(start), status)
    }
}

@Suite("referstreamd end to end (real processes, sockets, pyzmq and pycocotools)", .serialized,
       .enabled(if: DaemonTestSupport.python != nil && DaemonTestSupport.haveExecutables,
                "needs REFERSTREAM_PYTHON and the built referstreamd and referstream (swift build --build-tests)"))
struct EndToEndTests {
    @Test("file stream: one mask per frame and phrase, consecutive seq, pycocotools decodes every payload; phrase set changes the text within a window; phrase add adds a topic; SIGTERM exits with a final stream.stopped")
    func fileStream() throws {
        let python = try #require(DaemonTestSupport.python)
        let directory = try DaemonTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let frames = 90, width = 96, height = 64, window = 3
        let clip = directory.appendingPathComponent("clip.mp4").path
        try DaemonTestSupport.makeClip(at: clip, frames: frames, width: width, height: height)
        let masks = try DaemonTestSupport.freePort(), control = try DaemonTestSupport.freePort()
        let subscriber = try Subscriber(python: python, endpoint: "tcp://127.0.0.1:\(masks)")
        let daemon = try DaemonProcess(
            configuration: DaemonTestSupport.configuration(streams: """
                  - id: cam0
                    source: file
                    params: {location: \(clip)}
                    window: {length: \(window), stride: \(window)}
                    phrases: [{id: p1, text: "the ball"}]
                """, masks: masks, control: control, http: nil),
            control: control, directory: directory)

        // Mid-stream: replace p1's text, then add a second phrase.
        #expect(subscriber.wait(timeout: 120) { $0.filter { $0.kind == "mask" && $0.phraseID == "p1" }.count >= 15 })
        let set = try daemon.cli(["phrase", "set", "p1", "the white ball"])
        #expect(set.status == 0, "phrase set failed: \(set.stderr)")
        let seenAtSet = subscriber.masks(stream: "cam0", phrase: "p1").compactMap(\.frame).max() ?? 0
        let add = try daemon.cli(["phrase", "add", "--stream", "cam0", "--id", "p2", "the square"])
        #expect(add.status == 0 && add.stdout.contains("p2"), "phrase add: \(add.stdout) \(add.stderr)")

        // Every frame's mask for p1, then the end of the stream.
        #expect(subscriber.wait(timeout: 300) { $0.contains { $0.kind == "mask" && $0.phraseID == "p1" && $0.frame == frames - 1 } },
                "p1 never reached the last frame")
        #expect(subscriber.wait(timeout: 60) { $0.contains { $0.eventName == "stream.eos" } })
        let stop = daemon.terminate()
        #expect(stop != nil, "referstreamd did not exit after SIGTERM")
        #expect(stop?.status == 0, "exit status \(stop?.status ?? -1)")
        #expect(subscriber.wait(timeout: 10) { $0.contains { $0.eventName == "stream.stopped" && $0.stream == "cam0" } },
                "no final stream.stopped event")
        print("fileStream: SIGTERM to exit \(String(format: "%.3f", stop?.seconds ?? -1)) s")

        let p1 = subscriber.masks(stream: "cam0", phrase: "p1")
        #expect(p1.compactMap(\.frame) == Array(0..<frames), "p1 frames: \(p1.compactMap(\.frame))")
        #expect(p1.compactMap(\.seq) == Array(0..<frames), "p1 seq: \(p1.compactMap(\.seq))")
        for m in p1 {
            #expect(m.header["schema"] as? Int == 1)
            #expect(m.header["width"] as? Int == width && m.header["height"] as? Int == height)
            #expect(m.header["encoding"] as? String == "rle")
            #expect(m.shape == [height, width], "pycocotools decoded shape \(m.shape ?? [])")
            #expect(m.area != nil && m.area == m.rleArea, "decoded area \(m.area ?? -1) vs RLE area \(m.rleArea ?? -1)")
            let score = (m.header["score"] as? NSNumber)?.doubleValue ?? -1
            #expect((0...1).contains(score))
            let capture = (m.header["capture_time"] as? NSNumber)?.doubleValue ?? 0
            let publish = (m.header["publish_time"] as? NSNumber)?.doubleValue ?? 0
            #expect(capture > 1_600_000_000 && publish >= capture, "capture \(capture), publish \(publish)")
            #expect(m.header["present"] is Bool && m.header.keys.contains("track_id") && m.header.keys.contains("box"))
        }
        // The text changes once, from the old to the new, within one window (plus the frames queued
        // between ingest and the model) of the frame the subscriber had seen when the command returned.
        let texts = p1.map { $0.phrase ?? "" }
        let firstNew = try #require(p1.firstIndex { $0.phrase == "the white ball" }, "the new text never appeared")
        #expect(texts[..<firstNew].allSatisfy { $0 == "the ball" } && texts[firstNew...].allSatisfy { $0 == "the white ball" })
        let changeFrame = p1[firstNew].frame ?? -1
        let slack = 2 * window + 6  // a window in flight + the next one, the hub's and the appsink's queues
        #expect(changeFrame <= seenAtSet + slack, "new text from frame \(changeFrame), set when frame \(seenAtSet) was out")
        print("fileStream: phrase set seen at frame \(seenAtSet), new text from frame \(changeFrame)")

        let p2 = subscriber.masks(stream: "cam0", phrase: "p2")
        #expect(!p2.isEmpty, "no masks on masks/cam0/p2")
        #expect(p2.compactMap(\.seq) == Array(0..<p2.count), "p2 seq: \(p2.compactMap(\.seq))")
        if let first = p2.first?.frame {
            #expect(p2.compactMap(\.frame) == Array(first..<frames), "p2 frames: \(p2.compactMap(\.frame))")
        }
        #expect(p2.allSatisfy { $0.topic == "masks/cam0/p2" && $0.phrase == "the square" })
        #expect(!subscriber.messages.contains { $0.kind == "error" }, "protocol errors: \(subscriber.messages.filter { $0.kind == "error" }.map(\.header))")
    }
}
