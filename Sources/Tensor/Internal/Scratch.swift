import Synchronization

/// Reusable 64-byte-aligned float buffers for op temporaries (im2col columns, attention scores), so a
/// steady-state forward pass does not map and page-fault fresh memory for every call.
///
/// Thread-safe: a buffer is handed to one caller at a time and returned to the pool afterwards.
final class ScratchPool: Sendable {
    static let shared = ScratchPool()

    /// Buffers kept for reuse at most (larger ones are kept first).
    private static let maxCached = 4

    private final class Block: @unchecked Sendable {
        // Safety: a block is owned by exactly one caller between `take` and `give`, or by the pool.
        let base: UnsafeMutablePointer<Float>
        let capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, capacity) * 4, alignment: TensorStorage.alignment)
            base = raw.bindMemory(to: Float.self, capacity: Swift.max(1, capacity))
        }
        deinit { UnsafeMutableRawPointer(base).deallocate() }
    }

    private let blocks = Mutex<[Block]>([])

    /// Calls `body` with at least `count` uninitialised floats, valid only inside `body`.
    func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let block = blocks.withLock { list -> Block? in
            // Smallest cached block that fits.
            var best: Int?
            for (i, b) in list.enumerated() where b.capacity >= count {
                if best == nil || b.capacity < list[best!].capacity { best = i }
            }
            return best.map { list.remove(at: $0) }
        } ?? Block(capacity: count)
        defer {
            blocks.withLock { list in
                list.append(block)
                list.sort { $0.capacity > $1.capacity }
                if list.count > Self.maxCached { list.removeLast(list.count - Self.maxCached) }
            }
        }
        return try body(block.base)
    }
}
