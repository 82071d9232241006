import Plumbing
import Synchronization
import Testing

@Suite("DropOldestBuffer")
struct DropOldestBufferTests {
    @Test("keeps the newest `capacity` elements in order and returns each dropped one", arguments: [1, 2, 3, 7])
    func bounds(capacity: Int) {
        var buffer = DropOldestBuffer<Int>(capacity: capacity)
        var dropped: [Int] = []
        for value in 0..<20 {
            if let old = buffer.append(value) { dropped.append(old) }
            #expect(buffer.count == min(value + 1, capacity))
        }
        // The reference: the first 20 - capacity values were dropped, oldest first.
        #expect(dropped == Array(0..<(20 - capacity)))
        #expect(buffer.first == 20 - capacity)
        var rest: [Int] = []
        while let value = buffer.popFirst() { rest.append(value) }
        #expect(rest == Array((20 - capacity)..<20))
        #expect(buffer.counters == {
            var c = QueueCounters()
            c.enqueued = 20; c.dropped = 20 - capacity; c.delivered = capacity; c.queued = 0; c.highWater = capacity
            return c
        }())
        #expect(buffer.popFirst() == nil && buffer.isEmpty && buffer.first == nil)
    }

    @Test("interleaved appends and pops wrap around the storage without losing order")
    func wrapAround() {
        var buffer = DropOldestBuffer<Int>(capacity: 3)
        var model: [Int] = []  // reference FIFO with the same rule
        var next = 0
        for step in 0..<100 {
            if step % 3 == 2 {
                #expect(buffer.popFirst() == (model.isEmpty ? nil : model.removeFirst()))
            } else {
                let old = buffer.append(next)
                if model.count == 3 { #expect(old == model.removeFirst()) } else { #expect(old == nil) }
                model.append(next)
                next += 1
            }
            #expect(buffer.count == model.count && buffer.first == model.first)
        }
    }

    @Test("dropFirst counts a drop, not a delivery")
    func dropFirst() {
        var buffer = DropOldestBuffer<String>(capacity: 4)
        buffer.append("a"); buffer.append("b")
        #expect(buffer.dropFirst() == "a")
        #expect(buffer.popFirst() == "b")
        #expect(buffer.counters.dropped == 1 && buffer.counters.delivered == 1 && buffer.counters.enqueued == 2)
    }
}

@Suite("DropOldestQueue")
struct DropOldestQueueTests {
    @Test("pop times out on an empty queue, delivers what was queued after finish, then reports finished")
    func finish() {
        let queue = DropOldestQueue<Int>(capacity: 2)
        guard case .timedOut = queue.pop(timeout: .milliseconds(1)) else { Issue.record("expected a timeout"); return }
        #expect(queue.push(1) && queue.push(2) && queue.push(3))
        queue.finish()
        #expect(!queue.push(4), "pushes after finish are refused")
        var got: [Int] = []
        while case .element(let value) = queue.pop(timeout: .seconds(5)) { got.append(value) }
        #expect(got == [2, 3])
        guard case .finished = queue.pop(timeout: nil) else { Issue.record("expected finished"); return }
        let counters = queue.counters
        #expect(counters.enqueued == 3 && counters.dropped == 1 && counters.delivered == 2 && counters.queued == 0 && counters.highWater == 2)
        #expect(queue.isFinished)
    }

    @Test("a consumer blocked in pop without a timeout wakes for a push from another thread")
    func wakesOnPush() throws {
        let queue = DropOldestQueue<Int>(capacity: 1)
        let producer = try ServiceThread(name: "test.producer") { queue.push(42) }
        guard case .element(let value) = queue.pop(timeout: nil) else { Issue.record("expected an element"); return }
        #expect(value == 42)
        producer.join()
    }

    @Test("four producers and one slow consumer: nothing is lost unaccounted, each producer's order is kept")
    func concurrency() throws {
        let capacity = 8, producers = 4, perProducer = 20_000
        let queue = DropOldestQueue<(producer: Int, value: Int)>(capacity: capacity)
        let received = Mutex<[[Int]]>(Array(repeating: [], count: producers))
        let consumer = try ServiceThread(name: "test.consumer") {
            while case .element(let item) = queue.pop(timeout: nil) {
                received.withLock { $0[item.producer].append(item.value) }
            }
        }
        var threads: [ServiceThread] = []
        for p in 0..<producers {
            threads.append(try ServiceThread(name: "test.producer\(p)") {
                for value in 0..<perProducer { queue.push((p, value)) }
            })
        }
        for thread in threads { thread.join() }
        queue.finish()
        consumer.join()
        let counters = queue.counters
        let lists = received.withLock { $0 }
        let total = lists.map(\.count).reduce(0, +)
        #expect(counters.enqueued == producers * perProducer)
        #expect(counters.delivered == total)
        #expect(counters.delivered + counters.dropped == counters.enqueued, "\(counters)")
        #expect(counters.queued == 0 && counters.highWater <= capacity)
        for (p, list) in lists.enumerated() {
            #expect(zip(list, list.dropFirst()).allSatisfy { $0 < $1 }, "producer \(p) out of order")
            // The last value of every producer was pushed before finish and is the newest of that
            // producer, so it can only be dropped by newer values of other producers.
            #expect(list.allSatisfy { (0..<perProducer).contains($0) })
        }
        print("queue concurrency: \(counters)")
    }
}
