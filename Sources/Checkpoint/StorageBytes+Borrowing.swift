extension StorageBytes {
    /// Calls `body` with the bytes and with `keeper`, an object that keeps them alive and in place.
    ///
    /// For zero-copy consumers (a tensor runtime wrapping memory-mapped weights): the bytes of a
    /// `StorageBytes` are an immutable region of a read-only file mapping or of a heap buffer that is never
    /// moved, so their address stays valid, unchanged and unwritten for as long as `keeper` is retained.
    /// A consumer may therefore keep the address only together with a strong reference to `keeper` (e.g.
    /// as the owner of a borrowed storage) and must never write through it. Every other use should take
    /// `withUnsafeBytes`.
    public func withBytesAndKeeper<R>(_ body: (_ bytes: UnsafeRawBufferPointer, _ keeper: AnyObject) throws -> R) rethrows -> R {
        try withUnsafeBytes { try body($0, owner) }
    }
}
