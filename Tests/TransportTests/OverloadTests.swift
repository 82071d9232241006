import Foundation
import Testing
import TestSupport
import Transport
import WireProtocol
import ZeroMQ

/// What the measuring subscriber saw: `(seq, publish_time)` of each `cam0/p` mask, in arrival order.
final class Arrivals: @unchecked Sendable {
    // Safety: `items` and `warm` are only accessed with `lock` held.
    private let lock = NSLock()
    private var items: [(seq: Int, published: Double)] = []
    private var warm = false
    func add(_ seq: Int, _ published: Double) { lock.withLock { items.append((seq, published)) } }
    func warmedUp() { lock.withLock { warm = true } }
    var isWarm: Bool { lock.withLock { warm } }
    var all: [(seq: Int, published: Double)] { lock.withLock { items } }
}

@Suite("Mask publisher under overload")
struct PublisherOverloadTests {
    @Test("a producer far faster than encoding and a subscriber that never reads: masks go out fresh, in order, and the newest is always sent")
    func overload() throws {
        let context = try Context()
        // Default configuration (queue of 64, maxQueueDelay 250 ms), as the daemon runs it.
        let maxDelay = 0.25
        let publisher = MaskPublisher(context: context, configuration: .init(endpoints: ["tcp://127.0.0.1:*"], statusInterval: nil))
        let endpoint = try #require(try publisher.start().first)
        defer { publisher.stop() }
        // The hostile subscriber: connected, never reads.
        let stalled = try neverReadingSubscriber(context, endpoint)
        defer { withExtendedLifetime(stalled) {} }

        // The measuring subscriber reads everything on its own thread (a socket lives on one thread).
        let arrivals = Arrivals()
        let done = LockedFlag()
        let reader = Thread {
            guard let socket = try? Socket(context, .sub), (try? socket.subscribe()) != nil, (try? socket.connect(endpoint)) != nil else { return }
            var idle = 0
            while idle < 10 {
                guard let message = try? socket.receive(timeoutMilliseconds: 100) else {
                    if done.value { idle += 1 }
                    continue
                }
                idle = 0
                guard message.count == 3, let header = try? JSONDecoder().decode(JSONValue.self, from: Data(message[1])) else { continue }
                if header["stream"]?.stringValue == "warmup" { arrivals.warmedUp(); continue }
                let published: Double? = switch header["publish_time"] {
                case .double(let value)?: value
                case .int(let value)?: Double(value)
                default: nil
                }
                if let seq = header["seq"]?.intValue, let published { arrivals.add(Int(seq), published) }
            }
        }
        reader.start()
        let blank = BinaryMask(width: 2, height: 2)
        var warmFrame: Int64 = 0
        while !arrivals.isWarm {
            publisher.publish(MaskFrame(stream: "warmup", phraseID: "w", phrase: "w", frame: warmFrame, captureTime: 0, score: 0, present: false, mask: blank))
            warmFrame += 1
            Thread.sleep(forTimeInterval: 0.02)
        }

        // Noise compresses badly: each mask costs the publisher far more than the 1 ms between offers.
        var rng = SplitMix64(seed: 11)
        let noise = try BinaryMask(width: 1280, height: 720, pixels: (0..<(1280 * 720)).map { _ in UInt8.random(in: 0...1, using: &rng) })
        let total = 1500
        var offeredAfter: [Double] = []  // wall-clock time just after publish(seq) returned
        for i in 0..<total {
            let sequence = publisher.publish(MaskFrame(stream: "cam0", phraseID: "p", phrase: "noise", frame: Int64(i),
                                                       captureTime: Date().timeIntervalSince1970, score: 1, present: true, mask: noise))
            offeredAfter.append(Date().timeIntervalSince1970)
            #expect(sequence == UInt64(i))
            Thread.sleep(forTimeInterval: 0.001)
        }
        publisher.stop()
        done.set()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.05) }

        let got = arrivals.all
        let stats = publisher.statistics
        // Age at publish, bounded from above: publish(seq) queued the mask before offeredAfter[seq].
        let ages = got.map { $0.published - offeredAfter[$0.seq] }.sorted()
        let median = ages.isEmpty ? 0 : ages[ages.count / 2]
        print("publisher overload: \(total) offered, \(got.count) received, \(stats.dropped) dropped; age at publish median \(Int(median * 1000)) ms, max \(Int((ages.last ?? 0) * 1000)) ms")
        #expect(stats.dropped > 0, "no overload happened: the test proves nothing (\(stats))")
        #expect(zip(got, got.dropFirst()).allSatisfy { $0.seq < $1.seq }, "sequence numbers out of order")
        #expect(got.last?.seq == total - 1, "the newest mask was not published (last \(String(describing: got.last)))")
        // A mask older than maxQueueDelay may only go out as the newest of its topic: the next one was
        // not yet queued when it was published (queued at or after offeredAfter[seq + 1] - that call).
        for (seq, published) in got where published - offeredAfter[seq] > maxDelay {
            let newerQueuedBefore = seq + 1 < total && offeredAfter[seq + 1] < published
            #expect(!newerQueuedBefore, "seq \(seq) went out \(Int((published - offeredAfter[seq]) * 1000)) ms after it was offered, with a newer mask queued")
        }
    }
}
