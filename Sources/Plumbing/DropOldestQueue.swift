/// A thread-safe bounded queue between a producer that must never wait (a GStreamer streaming thread,
/// a pipeline handing over masks) and a consumer that may: `push` drops the oldest element when full
/// and returns at once; `pop` waits for an element, a timeout or `finish`.
///
/// Memory is bounded by `capacity` elements; drops are counted in `counters`.
public final class DropOldestQueue<Element: Sendable>: Sendable {
    private struct State: Sendable {
        var buffer: DropOldestBuffer<Element>
        var finished = false
    }

    private let monitor: Monitor<State>
    public let capacity: Int

    /// - Precondition: `capacity >= 1`.
    public init(capacity: Int) {
        self.capacity = capacity
        monitor = Monitor(State(buffer: DropOldestBuffer(capacity: capacity)))
    }

    /// Adds `element`, dropping the oldest one when the queue is full. Never waits (the lock is held
    /// for a few assignments). Returns false, and discards `element` uncounted, once `finish` was called.
    @discardableResult
    public func push(_ element: Element) -> Bool {
        monitor.withLock(notify: true) { state in
            guard !state.finished else { return false }
            state.buffer.append(element)
            return true
        }
    }

    /// The result of `pop`.
    public enum Pop: Sendable {
        case element(Element)
        /// Nothing arrived within the timeout.
        case timedOut
        /// `finish` was called and every queued element has been taken.
        case finished
    }

    /// Takes the oldest element, waiting up to `timeout` (nil: as long as it takes). Elements queued
    /// before `finish` are still delivered, in order.
    public func pop(timeout: Duration?) -> Pop {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        return monitor.wait(until: { !$0.buffer.isEmpty || $0.finished }, deadline: deadline) { state, _ in
            if let element = state.buffer.popFirst() { return .element(element) }
            return state.finished ? .finished : .timedOut
        }
    }

    /// Takes the oldest element if there is one; never waits.
    public func tryPop() -> Element? {
        monitor.withLock { $0.buffer.popFirst() }
    }

    /// No more elements will be accepted; wakes waiting consumers, which still get what is queued.
    public func finish() {
        monitor.withLock(notify: true) { $0.finished = true }
    }

    /// Whether `finish` was called.
    public var isFinished: Bool { monitor.withLock { $0.finished } }

    /// Counters since creation (a consistent snapshot).
    public var counters: QueueCounters { monitor.withLock { $0.buffer.counters } }
}
