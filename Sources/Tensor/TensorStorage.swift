/// The memory behind one or more tensors: `count` float32 elements, 64-byte aligned, owned or borrowed.
///
/// Owned storage is allocated here and freed in `deinit` (large blocks go back to a bounded pool of
/// reusable buffers, `StoragePool`, rather than to malloc). Borrowed storage points into memory that
/// another object owns (a memory-mapped checkpoint): `owner` keeps that object alive for as long as any
/// tensor uses the storage, and the memory is never written (`isReadOnly`; `Tensor` copies on write).
public final class TensorStorage: @unchecked Sendable {
    // Safety: the pointer is immutable after init. Element writes only happen through a `Tensor` that
    // holds the only reference (copy-on-write checks `isKnownUniquelyReferenced`), so no two threads
    // write the same storage unless the caller shares one `Tensor` across threads, which its value
    // semantics prevent.
    // Internal: only `Tensor`'s own ops touch the memory, inside `with…` accessors.
    let base: UnsafeMutablePointer<Float>
    public let count: Int
    /// Whether this storage points into memory owned by someone else (it is then never written).
    public let isReadOnly: Bool
    private let owner: AnyObject?

    /// Alignment of owned storage, in bytes (a cache line; enough for every SIMD width we use).
    public static let alignment = 64

    /// Allocates `count` uninitialised elements.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative storage size \(count)")
        let bytes = Swift.max(1, count) * MemoryLayout<Float>.stride
        // Large blocks are recycled (see StoragePool): no page faults for repeated activation sizes.
        let raw = StoragePool.allocate(bytes: bytes)
        self.base = raw.bindMemory(to: Float.self, capacity: Swift.max(1, count))
        self.count = count
        self.isReadOnly = false
        self.owner = nil
    }

    /// Wraps memory owned by `owner` (for example a memory-mapped file) without copying.
    /// The memory must hold `count` float32 values, stay valid while `owner` lives, and not change.
    public init(borrowing base: UnsafePointer<Float>, count: Int, owner: AnyObject) {
        self.base = UnsafeMutablePointer(mutating: base)
        self.count = count
        self.isReadOnly = true
        self.owner = owner
    }

    deinit {
        if owner == nil {
            StoragePool.release(UnsafeMutableRawPointer(base), bytes: Swift.max(1, count) * MemoryLayout<Float>.stride)
        }
    }
}

extension Tensor {
    /// A contiguous float32 tensor over `count(shape)` little-endian floats at `byteOffset` in `bytes`,
    /// without copying: the memory belongs to `owner` (a memory-mapped checkpoint), which the tensor keeps
    /// alive; it is never written (writes copy first). Nil when the floats are not 4-byte aligned or do
    /// not fit in `bytes`, so the caller decodes a copy instead.
    public init?(borrowingFloat32 bytes: UnsafeRawBufferPointer, byteOffset: Int, shape: [Int], owner: AnyObject) {
        let count = shape.reduce(1, *)
        guard count > 0, byteOffset >= 0, byteOffset + count * MemoryLayout<Float>.stride <= bytes.count,
              let base = bytes.baseAddress else { return nil }
        let start = base + byteOffset
        guard Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 else { return nil }
        let floats = start.bindMemory(to: Float.self, capacity: count)
        self.init(storage: TensorStorage(borrowing: floats, count: count, owner: owner), shape: shape,
                  strides: Tensor.contiguousStrides(for: shape))
    }

    /// A new contiguous tensor holding a copy of `count(shape)` row-major little-endian float32 values.
    public init(shape: [Int], copyingFloat32 bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == shape.reduce(1, *) * MemoryLayout<Float>.stride,
                     "\(bytes.count) bytes are not \(shape.reduce(1, *)) float32 values for shape \(shape)")
        self.init(shape: shape) { elements in UnsafeMutableRawBufferPointer(elements).copyMemory(from: bytes) }
    }
}
