import Synchronization

/// Recycles large tensor buffers by size class instead of returning them to malloc.
///
/// Why: glibc serves large blocks with mmap (or trims them back to the system) and every fresh block is
/// page-faulted in on first touch; a forward pass allocates the same activation sizes frame after
/// frame, so without reuse a measurable share of its time goes to page faults (the golden README §7
/// measures the same effect for PyTorch). Blocks below `minimumBytes` go straight to malloc.
///
/// Size classes are 2^k and 1.5·2^k bytes (at most a third wasted); at most `limitBytes` are kept.
/// Thread-safe.
enum StoragePool {
    /// Smallest block that is pooled.
    static let minimumBytes = 256 * 1024
    /// Most bytes kept in the pool at once (beyond that, freed blocks go back to malloc).
    static let limitBytes = 1 << 30

    private struct Pointers: @unchecked Sendable {
        // Safety: raw blocks owned by the pool; only handed out under the lock, to one owner each.
        var state = [Int: [UnsafeMutableRawPointer]]()
        var cachedBytes = 0
    }

    private static let state = Mutex(Pointers())

    /// The size class (capacity in bytes) that serves a request of `bytes`.
    static func capacity(for bytes: Int) -> Int {
        if bytes < minimumBytes { return bytes }
        var p = 1
        while p < bytes { p <<= 1 }
        let threeQuarters = p / 4 * 3
        return threeQuarters >= bytes ? threeQuarters : p
    }

    /// A block of `capacity(for: bytes)` bytes, 64-byte aligned.
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        let cap = capacity(for: bytes)
        if cap >= minimumBytes {
            let reused = state.withLock { s -> UnsafeMutableRawPointer? in
                guard let p = s.state[cap]?.popLast() else { return nil }
                s.cachedBytes -= cap
                return p
            }
            if let reused { return reused }
        }
        return UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: TensorStorage.alignment)
    }

    /// Returns a block obtained from `allocate(bytes:)` with the same `bytes`.
    static func release(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        let cap = capacity(for: bytes)
        if cap >= minimumBytes {
            let kept = state.withLock { s -> Bool in
                guard s.cachedBytes + cap <= limitBytes else { return false }
                s.state[cap, default: []].append(pointer)
                s.cachedBytes += cap
                return true
            }
            if kept { return }
        }
        pointer.deallocate()
    }
}
