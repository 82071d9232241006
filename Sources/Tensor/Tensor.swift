/// An n-dimensional float32 array with PyTorch's memory model: a shape, element strides, an offset, and
/// reference-counted storage shared by views.
///
/// `Tensor` is a value type. Views (`reshaped`, `permuted`, `sliced`, `expanded`, …) share storage with
/// the tensor they come from; any mutation first makes the storage unique (copy-on-write), so a view
/// never sees a later write to its source and vice versa. Layout is row-major (NCHW for images) like
/// PyTorch, so official checkpoints load without transposes.
///
/// Only float32 is computed with; other checkpoint dtypes (F16, BF16, I64, …) are decoded at load time.
public struct Tensor: Sendable {
    public private(set) var shape: [Int]
    /// Element strides, one per dimension (0 for broadcast dimensions).
    public private(set) var strides: [Int]
    /// Index of element [0, 0, …] in `storage`.
    public private(set) var offset: Int
    public private(set) var storage: TensorStorage

    // MARK: Creation

    /// A view over existing storage. Preconditions check that every addressed element is in bounds.
    public init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int = 0) {
        precondition(shape.count == strides.count, "shape \(shape) and strides \(strides) differ in rank")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        let count = shape.reduce(1, *)
        if count > 0 {
            var lo = offset, hi = offset
            for (n, s) in zip(shape, strides) {
                if s >= 0 { hi += (n - 1) * s } else { lo += (n - 1) * s }
            }
            precondition(lo >= 0 && hi < storage.count, "view shape \(shape) strides \(strides) offset \(offset) exceeds storage of \(storage.count)")
        }
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A new contiguous tensor whose elements are written by `initializer` (all `count` of them).
    public init(shape: [Int], initializingWith initializer: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let count = shape.reduce(1, *)
        let storage = TensorStorage(uninitializedCount: count)
        try initializer(UnsafeMutableBufferPointer(start: storage.base, count: count))
        self.init(storage: storage, shape: shape, strides: Tensor.contiguousStrides(for: shape))
    }

    /// A new contiguous tensor filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape) { $0.initialize(repeating: value) }
    }

    /// A new contiguous tensor with `elements` in row-major order.
    public init(shape: [Int], elements: [Float]) {
        precondition(shape.reduce(1, *) == elements.count, "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(elements.count)")
        self.init(shape: shape) { buffer in
            elements.withUnsafeBufferPointer { buffer.baseAddress!.initialize(from: $0.baseAddress!, count: $0.count) }
        }
    }

    /// A 0-dimensional tensor.
    public init(scalar: Float) { self.init(shape: [], elements: [scalar]) }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    // MARK: Properties

    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Row-major strides for `shape`.
    public static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = running
            running *= Swift.max(shape[i], 1)
        }
        return strides
    }

    /// Whether elements are laid out row-major without gaps (size-1 dimensions may have any stride).
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: rank - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Normalises a possibly negative dimension index.
    @inline(__always)
    public func axis(_ dim: Int) -> Int {
        let d = dim < 0 ? dim + rank : dim
        precondition(d >= 0 && d < rank, "dimension \(dim) out of range for shape \(shape)")
        return d
    }

    // MARK: Element access (tests and small loops; hot paths use the buffer accessors)

    /// The element at `index` (one coordinate per dimension).
    public subscript(_ index: Int...) -> Float {
        get { storage.base[elementOffset(index)] }
        set {
            makeUnique()
            storage.base[elementOffset(index)] = newValue
        }
    }

    private func elementOffset(_ index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) has the wrong rank for shape \(shape)")
        var o = offset
        for (d, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[d], "index \(index) out of bounds for shape \(shape)")
            o += i * strides[d]
        }
        return o
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
    }

    // MARK: Contiguity and copy-on-write

    /// This tensor if already contiguous, else a contiguous copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        var result = Tensor(storage: TensorStorage(uninitializedCount: count), shape: shape, strides: Tensor.contiguousStrides(for: shape))
        result.copyElements(from: self)
        return result
    }

    /// Calls `body` with the contiguous elements (copying first if this tensor is a strided view).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let c = contiguous()
        return try withExtendedLifetime(c) {
            try body(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
        }
    }

    /// Calls `body` with mutable contiguous elements; makes the storage unique and contiguous first.
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isContiguous { self = contiguousCopy() } else { makeUnique() }
        return try body(UnsafeMutableBufferPointer(start: storage.base + offset, count: count))
    }

    /// Ensures no other tensor shares this storage and that it is writable (copy-on-write).
    private mutating func makeUnique() {
        if storage.isReadOnly || !isKnownUniquelyReferenced(&storage) {
            self = contiguousCopy()
        }
    }

    private func contiguousCopy() -> Tensor {
        var result = Tensor(storage: TensorStorage(uninitializedCount: count), shape: shape, strides: Tensor.contiguousStrides(for: shape))
        result.copyElements(from: self)
        return result
    }

    /// Copies `source` (same shape, any strides) into this tensor's storage, which must be contiguous
    /// and not shared.
    private mutating func copyElements(from source: Tensor) {
        precondition(source.shape == shape, "copy from shape \(source.shape) into \(shape)")
        let dst = storage.base + offset
        let n = count
        if n == 0 { return }
        if source.isContiguous {
            dst.update(from: source.storage.base + source.offset, count: n)
            return
        }
        // Walk the source with an odometer over all but the innermost dimension.
        let r = rank
        let inner = shape[r - 1], innerStride = source.strides[r - 1]
        let outer = n / Swift.max(inner, 1)
        var index = [Int](repeating: 0, count: Swift.max(r - 1, 0))
        var srcOffset = source.offset
        let src = source.storage.base
        for o in 0..<outer {
            let d = dst + o * inner
            if innerStride == 1 {
                d.update(from: src + srcOffset, count: inner)
            } else {
                for i in 0..<inner { d[i] = src[srcOffset + i * innerStride] }
            }
            var k = r - 2
            while k >= 0 {
                index[k] += 1
                srcOffset += source.strides[k]
                if index[k] < shape[k] { break }
                srcOffset -= source.strides[k] * shape[k]
                index[k] = 0
                k -= 1
            }
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(shape: \(shape))" }
}
