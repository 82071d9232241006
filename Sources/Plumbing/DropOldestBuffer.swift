/// Counters of a drop-oldest buffer or queue, since it was created.
public struct QueueCounters: Sendable, Equatable, CustomStringConvertible {
    /// Elements offered (`append` / `push`), dropped ones included.
    public var enqueued = 0
    /// Elements removed to make room for newer ones (plus any the owner discarded with `drop`).
    public var dropped = 0
    /// Elements taken out in order (`popFirst` / `pop`).
    public var delivered = 0
    /// Elements held now.
    public var queued = 0
    /// The most elements ever held at once (at most the capacity).
    public var highWater = 0

    public init() {}

    public var description: String {
        "enqueued \(enqueued), delivered \(delivered), dropped \(dropped), queued \(queued), high water \(highWater)"
    }
}

/// A fixed-capacity FIFO that drops its oldest element when full: for live data, where the newest
/// element is the one worth keeping. Counts what it enqueues, drops and delivers.
///
/// A plain value, not thread-safe: keep it inside a `Mutex` or `Monitor` (or use `DropOldestQueue`,
/// which does that and adds a blocking `pop`). Storage is allocated once, at `capacity` elements.
public struct DropOldestBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    public private(set) var counters = QueueCounters()

    /// - Precondition: `capacity >= 1`.
    public init(capacity: Int) {
        precondition(capacity >= 1, "a drop-oldest buffer needs a capacity of at least 1, not \(capacity)")
        storage = Array(repeating: nil, count: capacity)
    }

    public var capacity: Int { storage.count }
    public var count: Int { counters.queued }
    public var isEmpty: Bool { counters.queued == 0 }

    /// The oldest element, without removing it.
    public var first: Element? { isEmpty ? nil : storage[head] }

    /// Appends `element`; when full, first removes the oldest element and returns it (counted as
    /// dropped). Never fails.
    @discardableResult
    public mutating func append(_ element: Element) -> Element? {
        counters.enqueued += 1
        var dropped: Element?
        if counters.queued == capacity {
            dropped = removeHead()
            counters.dropped += 1
        }
        storage[(head + counters.queued) % capacity] = element
        counters.queued += 1
        counters.highWater = max(counters.highWater, counters.queued)
        return dropped
    }

    /// Removes and returns the oldest element (counted as delivered).
    public mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        counters.delivered += 1
        return removeHead()
    }

    /// Removes and returns the oldest element, counted as dropped (for owners that also drop by
    /// another rule, e.g. age).
    public mutating func dropFirst() -> Element? {
        guard !isEmpty else { return nil }
        counters.dropped += 1
        return removeHead()
    }

    private mutating func removeHead() -> Element? {
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % capacity
        counters.queued -= 1
        return element
    }
}

extension DropOldestBuffer: Sendable where Element: Sendable {}
