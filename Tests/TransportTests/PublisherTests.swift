import Foundation
import Testing
import TestSupport
import Transport
import WireProtocol
import ZeroMQ

@Suite("Mask publisher")
struct PublisherTests {
    @Test("pyzmq + pycocotools decode every published mask bit for bit, headers as documented", arguments: MaskEncoding.allCases)
    func pythonDecodes(_ encoding: MaskEncoding) throws {
        let context = try Context()
        let publisher = MaskPublisher(context: context, configuration: .init(
            // Lossless: every mask must arrive, however slow this machine is (no age limit).
            endpoints: ["tcp://127.0.0.1:*"], encoding: encoding, sendHighWaterMark: 0, queueCapacity: 4096,
            maxQueueDelay: nil, statusInterval: nil))
        let endpoint = try #require(try publisher.start().first)
        defer { publisher.stop() }
        let masks = testMasks()
        let python = try PythonScript("decode_masks.py", [endpoint, String(masks.count)])

        // Slow joiner: keep publishing warm-up masks until the subscriber has one.
        let joined = LockedFlag()
        let warmup = Thread {
            var frame: Int64 = 0
            while !joined.value {
                publisher.publish(MaskFrame(stream: "warmup", phraseID: "w", phrase: "warm-up", frame: frame,
                                            captureTime: 0, score: 0, present: false, mask: BinaryMask(width: 2, height: 2)))
                frame += 1
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        warmup.start()
        let first = python.readLine()
        joined.set()
        try #require(first == "ready", "python said \(first ?? "nothing")")

        let capture = Date().timeIntervalSince1970
        for (index, (_, mask)) in masks.enumerated() {
            publisher.publish(MaskFrame(
                stream: "cam0", phraseID: "p\(index % 2)", phrase: "the thing number \(index)", trackID: index % 3 == 0 ? nil : index,
                frame: Int64(100 + index), pts: index == 1 ? nil : Double(index) / 25, captureTime: capture,
                score: 0.5 + Double(index) / 100, box: index == 0 ? nil : [1, 2, 30.5, 40], present: index != 0, mask: mask))
        }
        var sequences: [String: UInt64] = [:]
        for (index, (name, mask)) in masks.enumerated() {
            let line = try #require(python.readLine(), "python ended early at \(name)")
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
            let header = try #require(json["header"])
            #expect(json["topic"]?.stringValue == "masks/cam0/p\(index % 2)")
            #expect(json["shape"] == .array([.int(Int64(mask.height)), .int(Int64(mask.width))]), "\(name)")
            #expect(json["area"]?.intValue == Int64(mask.area), "\(name): python area \(json["area"]!), published \(mask.area)")
            let decoded = Data(base64Encoded: json["packed"]?.stringValue ?? "").map(Array.init) ?? []
            #expect(decoded == packed(mask), "\(name) (\(encoding)): the mask decoded by Python differs")
            // Header fields as documented in docs/protocol.md.
            let phraseID = "p\(index % 2)"
            let expectedSequence = sequences[phraseID, default: 0]
            sequences[phraseID] = expectedSequence + 1
            #expect(header["schema"] == .int(1))
            #expect(header["stream"] == .string("cam0"))
            #expect(header["phrase_id"] == .string(phraseID))
            #expect(header["phrase"] == .string("the thing number \(index)"))
            #expect(header["track_id"] == (index % 3 == 0 ? .null : .int(Int64(index))))
            #expect(header["seq"] == .int(Int64(expectedSequence)), "\(name): seq \(header["seq"]!)")
            #expect(header["frame"] == .int(Int64(100 + index)))
            #expect(header["width"] == .int(Int64(mask.width)) && header["height"] == .int(Int64(mask.height)))
            #expect(header["present"] == .bool(index != 0))
            #expect(header["encoding"] == .string(encoding.rawValue))
            #expect(header["box"] == (index == 0 ? .null : .array([.int(1), .int(2), .double(30.5), .int(40)])), "\(header["box"]!)")
            if index == 1 { #expect(header["pts"] == .null) }
            for key in ["capture_time", "publish_time", "score"] {
                guard case .double = header[key] ?? .null else { Issue.record("\(key) is \(header[key] ?? .null)"); continue }
            }
            #expect(Set(header.objectKeys) == [
                "schema", "stream", "phrase_id", "phrase", "track_id", "seq", "frame", "pts", "capture_time",
                "publish_time", "width", "height", "score", "box", "present", "encoding",
            ])
        }
        #expect(python.finish() == 0)
    }

    @Test("a subscriber that never reads: publishing goes on, drops are counted, memory stays bounded")
    func stalledSubscriber() throws {
        let context = try Context()
        let publisher = MaskPublisher(context: context, configuration: .init(
            endpoints: ["tcp://127.0.0.1:*"], sendHighWaterMark: 4, queueCapacity: 8, statusInterval: nil))
        let endpoint = try #require(try publisher.start().first)
        defer { publisher.stop() }
        let stalled = try neverReadingSubscriber(context, endpoint)

        // Random noise compresses badly: ~100 kB of RLE per mask, ~2 GB for all of them if queued.
        var rng = SplitMix64(seed: 3)
        let noise = try BinaryMask(width: 640, height: 360, pixels: (0..<(640 * 360)).map { _ in UInt8.random(in: 0...1, using: &rng) })
        let rssBefore = residentBytes()
        let total = 20_000
        for i in 0..<total {
            publisher.publish(MaskFrame(stream: "cam0", phraseID: "p", phrase: "noise", frame: Int64(i),
                                        captureTime: 0, score: 1, present: true, mask: noise))
        }
        publisher.stop()
        let rssAfter = residentBytes()
        let stats = publisher.statistics
        #expect(stats.offered == UInt64(total))
        #expect(stats.published + stats.dropped == UInt64(total), "\(stats)")
        #expect(stats.sendErrors == 0)
        let growth = rssAfter - rssBefore
        #expect(growth < 300 << 20, "resident memory grew by \(growth >> 20) MiB")
        // Published messages beyond the high-water marks were dropped inside libzmq: the stalled
        // subscriber holds only a few.
        var held = 0
        while try stalled.receive(timeoutMilliseconds: 200) != nil { held += 1 }
        #expect(held < 1000, "the stalled subscriber got \(held) of \(total)")
    }

    @Test("the subscriber reports sequence gaps and filters one phrase exactly")
    func gaps() throws {
        let context = try Context()
        // A raw PUB socket, so the test chooses the sequence numbers.
        let publisher = try Socket(context, .pub)
        try publisher.bind("tcp://127.0.0.1:*")
        let subscriber = try MaskSubscriber(context: context, endpoint: try publisher.lastEndpoint(), stream: "cam0", phrase: "p1")
        var mask = BinaryMask(width: 8, height: 4)
        mask[3, 2] = true
        func send(_ phrase: String, _ sequence: UInt64) throws {
            let frame = MaskFrame(stream: "cam0", phraseID: phrase, phrase: "x", frame: Int64(sequence),
                                  captureTime: Date().timeIntervalSince1970, score: 1, present: true, mask: mask)
            try publisher.send(MaskMessage.frames(frame, sequence: sequence, encoding: .rle, publishTime: Date().timeIntervalSince1970))
        }
        var first: ReceivedMask?
        for _ in 0..<100 where first == nil {
            try send("p1", 0)
            first = try subscriber.next(timeoutMilliseconds: 50)
        }
        #expect(first?.missed == 0)
        while try subscriber.next(timeoutMilliseconds: 100) != nil {}  // extra warm-up copies
        try send("p10", 7)  // same prefix, other phrase: filtered out
        try send("p1", 1)
        try send("p1", 5)
        let one = try #require(try subscriber.next(timeoutMilliseconds: 2000))
        let five = try #require(try subscriber.next(timeoutMilliseconds: 2000))
        #expect(one.header.phraseID == "p1" && one.header.sequence == 1 && one.missed == 0)
        #expect(five.header.sequence == 5 && five.missed == 3, "missed \(five.missed)")
        #expect(try five.mask() == mask)
        #expect(subscriber.totalMissed == 3)
    }
}

/// Resident set size of this process (Linux /proc/self/statm).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// A subscriber connected to `endpoint` with a tiny receive queue, which the test never reads.
func neverReadingSubscriber(_ context: Context, _ endpoint: String) throws -> Socket {
    let socket = try Socket(context, .sub)
    try socket.set(.receiveHighWaterMark(4))
    try socket.subscribe()
    try socket.connect(endpoint)
    return socket
}

final class LockedFlag: @unchecked Sendable {
    // Safety: `flag` is only accessed with `lock` held.
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}

extension JSONValue {
    var objectKeys: [String] { if case .object(let o) = self { Array(o.keys) } else { [] } }
}

@Suite("Mask publisher security")
struct PublisherSecurityTests {
    @Test("non-local endpoints need an explicit opt-in")
    func nonLocal() throws {
        let publisher = MaskPublisher(context: try Context(), configuration: .init(endpoints: ["tcp://*:0"]))
        #expect(throws: TransportError.self) { try publisher.start() }
    }

    @Test("CURVE: an allowed subscriber gets masks, a stranger gets none", .enabled(if: CurveKeyPair.isAvailable))
    func curve() throws {
        let context = try Context()
        let serverKeys = try CurveKeyPair.generate(), allowed = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let authenticator = try CurveAuthenticator(context: context, allowedClientKeys: [allowed.publicKey])
        try authenticator.start()
        defer { authenticator.stop() }
        let publisher = MaskPublisher(context: context, configuration: .init(
            endpoints: ["tcp://127.0.0.1:*"], statusInterval: nil,
            curve: CurveServerConfiguration(keyPair: serverKeys, allowedClientKeys: [allowed.publicKey])))
        let endpoint = try #require(try publisher.start().first)
        defer { publisher.stop() }
        let good = try MaskSubscriber(context: context, endpoint: endpoint,
                                      curve: CurveClientConfiguration(serverKey: serverKeys.publicKey, keyPair: allowed))
        let bad = try MaskSubscriber(context: context, endpoint: endpoint,
                                     curve: CurveClientConfiguration(serverKey: serverKeys.publicKey, keyPair: stranger))
        var mask = BinaryMask(width: 4, height: 4)
        mask[1, 2] = true
        var received: ReceivedMask?
        for n in 0..<100 where received == nil {
            publisher.publish(MaskFrame(stream: "cam0", phraseID: "p1", phrase: "x", frame: Int64(n), captureTime: 0,
                                        score: 1, present: true, mask: mask))
            received = try good.next(timeoutMilliseconds: 50)
        }
        #expect(try received?.mask() == mask)
        #expect(try bad.next(timeoutMilliseconds: 300) == nil)
        #expect(authenticator.counts.rejected >= 1 && authenticator.counts.accepted >= 1, "\(authenticator.counts)")
    }
}

@Suite("Events and status")
struct EventStatusTests {
    @Test("events go to events/<stream>, status messages come periodically with the counters")
    func eventsAndStatus() throws {
        let context = try Context()
        let publisher = MaskPublisher(context: context, configuration: .init(endpoints: ["tcp://127.0.0.1:*"], statusInterval: 0.05),
                                      statusDetails: { .object(["streams": .int(1)]) })
        let endpoint = try #require(try publisher.start().first)
        defer { publisher.stop() }
        let sub = try Socket(context, .sub)
        try sub.subscribe(Array("events/".utf8))
        try sub.subscribe(Array("status".utf8))
        try sub.connect(endpoint)
        var status: StatusMessage?
        var event: EventMessage?
        for attempt in 0..<400 where status == nil || event == nil {
            if attempt % 10 == 0 { publisher.publish(EventMessage(stream: "cam0", event: .phraseAdded, time: 1, phraseID: "p1", phrase: "a cat")) }
            guard let parts = try sub.receive(timeoutMilliseconds: 50) else { continue }
            let topic = String(decoding: parts[0], as: UTF8.self)
            if topic == "status" { status = try JSONDecoder().decode(StatusMessage.self, from: Data(parts[1])) }
            if topic == "events/cam0" {
                event = try JSONDecoder().decode(EventMessage.self, from: Data(parts[1]))
                let raw = try JSONDecoder().decode(JSONValue.self, from: Data(parts[1]))
                #expect(raw["track_id"] == .null && raw["event"] == .string("phrase.added"), "\(raw)")
            }
        }
        #expect(status?.details == .object(["streams": .int(1)]) && status?.schema == 1, "\(String(describing: status))")
        #expect(event == EventMessage(stream: "cam0", event: .phraseAdded, time: 1, phraseID: "p1", phrase: "a cat"))
        publisher.stop()  // joins the thread, so its counters are final
        #expect(publisher.statistics.statusMessages >= 1)
    }
}
