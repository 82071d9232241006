import Plumbing
import Synchronization
import Testing

/// Flags, shared with the threads under test.
private final class Flags: Sendable {
    let ranBody = Mutex(false)
    let released = Mutex(false)
    let sawCurrent = Mutex<Bool?>(nil)
}

/// Sets `flags.released` when the closure capturing it is released.
private final class Capture: Sendable {
    let flags: Flags
    init(_ flags: Flags) { self.flags = flags }
    deinit { flags.released.withLock { $0 = true } }
}

@Suite("ServiceThread")
struct ServiceThreadTests {
    @Test("join returns after the body ran and its captures were released; isCurrent is true only on the thread")
    func joinReleases() throws {
        let flags = Flags()
        let gate = Monitor(false)
        var capture: Capture? = Capture(flags)
        let thread = try ServiceThread(name: "test.join") { [capture] in
            gate.wait(until: { $0 }) { _, _ in }
            flags.ranBody.withLock { $0 = true }
            _ = capture
        }
        capture = nil
        let thread2 = thread
        flags.sawCurrent.withLock { $0 = thread2.isCurrent }
        #expect(flags.sawCurrent.withLock { $0 } == false)
        #expect(!flags.ranBody.withLock { $0 } && !flags.released.withLock { $0 }, "the body waits for the gate")
        gate.withLock(notify: true) { $0 = true }
        thread.join()
        #expect(flags.ranBody.withLock { $0 })
        #expect(flags.released.withLock { $0 }, "captures are released before join returns")
        thread.join()  // idempotent
    }

    @Test("isCurrent on the thread itself, and join from the thread returns at once")
    func selfJoin() throws {
        let box = Mutex<ServiceThread?>(nil)
        let result = Mutex<Bool?>(nil)
        let gate = Monitor(false)
        let thread = try ServiceThread(name: "test.self") {
            gate.wait(until: { $0 }) { _, _ in }
            let me = box.withLock { $0 }!
            me.join()  // must not deadlock
            result.withLock { $0 = me.isCurrent }
        }
        box.withLock { $0 = thread }
        gate.withLock(notify: true) { $0 = true }
        thread.join()
        #expect(result.withLock { $0 } == true)
        box.withLock { $0 = nil }
    }

    @Test("concurrent joins all wait for the same end")
    func concurrentJoins() throws {
        let gate = Monitor(false)
        let ended = Mutex(false)
        let worker = try ServiceThread(name: "test.worker") {
            gate.wait(until: { $0 }) { _, _ in }
            ended.withLock { $0 = true }
        }
        let sawEnd = Mutex<[Bool]>([])
        let joiners = try (0..<3).map { i in
            try ServiceThread(name: "test.joiner\(i)") {
                worker.join()
                sawEnd.withLock { $0.append(ended.withLock { $0 }) }
            }
        }
        gate.withLock(notify: true) { $0 = true }
        for joiner in joiners { joiner.join() }
        #expect(sawEnd.withLock { $0 } == [true, true, true])
    }

    @Test("start waits for the setup report; a body that returns without reporting gives nil")
    func setupHandshake() throws {
        let (thread, setup) = try ServiceThread.start(name: "test.setup") { (ready: @Sendable (Result<Int, TestError>) -> Void) in
            ready(.success(7))
            ready(.failure(TestError()))  // ignored: only the first report counts
        }
        thread.join()
        #expect(try setup?.get() == 7)

        let (silent, nothing) = try ServiceThread.start(name: "test.silent") { (_: @Sendable (Int) -> Void) in }
        silent.join()
        #expect(nothing == nil)
    }
}

private struct TestError: Error, Equatable {}

@Suite("Monitor")
struct MonitorTests {
    @Test("wait with a passed deadline reports not ready; a notified change wakes a waiter")
    func waitAndNotify() throws {
        let monitor = Monitor(0)
        let timedOut = monitor.wait(until: { $0 > 0 }, deadline: .now) { _, ready in ready }
        #expect(timedOut == false)
        let setter = try ServiceThread(name: "test.setter") { monitor.withLock(notify: true) { $0 = 5 } }
        let value = monitor.wait(until: { $0 > 0 }) { state, ready in ready ? state : -1 }
        #expect(value == 5)
        setter.join()
    }
}
