/// A fixed-capacity FIFO that drops its oldest element when full (live data: newest wins).
struct RingBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0, "ring buffer capacity must be positive")
        storage = Array(repeating: nil, count: capacity)
    }

    var capacity: Int { storage.count }
    var isEmpty: Bool { count == 0 }

    /// Appends `element`; returns the element dropped to make room, if any.
    @discardableResult
    mutating func append(_ element: Element) -> Element? {
        var dropped: Element?
        if count == capacity {
            dropped = storage[head]
            storage[head] = nil
            head = (head + 1) % capacity
            count -= 1
        }
        storage[(head + count) % capacity] = element
        count += 1
        return dropped
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % capacity
        count -= 1
        return element
    }
}
