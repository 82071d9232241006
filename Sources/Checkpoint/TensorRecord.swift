/// A tensor as stored in a checkpoint: dtype, shape, element strides and offset into a storage whose
/// bytes are shared (memory-mapped when read from a file). Tensors that share a PyTorch storage share
/// the same `StorageBytes`. Independent of any tensor runtime: `contiguousBytes()`, `floats()` and
/// `int64s()` give the values in row-major order.
public struct TensorRecord: Sendable {
    /// The key under which the tensor was found (state-dict name or safetensors name).
    public var name: String
    public let dtype: DType
    public let shape: [Int]
    /// Element strides (not bytes), one per dimension.
    public let strides: [Int]
    /// Offset of element [0, 0, …] into `storage`, in elements.
    public let storageOffset: Int
    /// The whole storage the tensor views (several tensors may view the same one).
    public let storage: StorageBytes
    /// Product of `shape` (1 for a 0-dim tensor).
    public let elementCount: Int

    /// A validated view: throws unless the view lies inside `storage` (strides and offset non-negative,
    /// every reachable element inside the storage, no arithmetic overflow).
    public init(name: String, dtype: DType, shape: [Int], strides: [Int], storageOffset: Int,
                storage: StorageBytes) throws {
        try self.init(name: name, dtype: dtype, shape: shape, strides: strides, storageOffset: storageOffset,
                      storage: storage, file: "(in memory)")
    }

    /// A contiguous tensor over all of `storage`.
    public init(name: String, dtype: DType, shape: [Int], storage: StorageBytes) throws {
        try self.init(name: name, dtype: dtype, shape: shape, strides: TensorRecord.contiguousStrides(shape),
                      storageOffset: 0, storage: storage, file: "(in memory)")
    }

    init(name: String, dtype: DType, shape: [Int], strides: [Int], storageOffset: Int,
         storage: StorageBytes, file: String) throws {
        func fail(_ message: String) -> CheckpointError {
            CheckpointError(.invalidTensor, file: file, key: name, message)
        }
        guard shape.count == strides.count else {
            throw fail("shape \(shape) and strides \(strides) have different ranks")
        }
        guard storageOffset >= 0 else { throw fail("negative storage offset \(storageOffset)") }
        var count = 1
        for size in shape {
            guard size >= 0 else { throw fail("negative size in shape \(shape)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw fail("shape \(shape) has too many elements") }
            count = product
        }
        let storageElements = storage.count / dtype.byteSize
        if count > 0 {
            // Largest element index reached: offset + Σ (size − 1) · stride.
            var last = storageOffset
            for (size, stride) in zip(shape, strides) {
                guard stride >= 0 else { throw fail("negative stride in \(strides)") }
                let (step, o1) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else { throw fail("strides \(strides) overflow") }
                last = sum
            }
            guard last < storageElements else {
                throw fail("view (shape \(shape), strides \(strides), offset \(storageOffset)) reaches element "
                    + "\(last) of a storage of \(storageElements) \(dtype.rawValue) elements")
            }
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.storage = storage
        self.elementCount = count
    }

    /// Row-major strides of `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = step
            step &*= max(shape[axis], 1)
        }
        return strides
    }

    /// Bytes of the tensor's values (`elementCount × dtype.byteSize`).
    public var byteCount: Int { elementCount * dtype.byteSize }

    /// True when the elements are laid out row-major without gaps from `storageOffset` (PyTorch's rule:
    /// dimensions of size 1 may have any stride; an empty tensor is contiguous).
    public var isContiguous: Bool {
        if elementCount == 0 { return true }
        var expected = 1
        for axis in shape.indices.reversed() where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Calls `body` with the values in row-major order: the storage bytes themselves (zero copy) when the
    /// tensor is contiguous, otherwise a materialised copy. Do not store the pointer.
    public func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if byteCount == 0 {
            // An empty tensor's offset is not checked against its storage: never slice with it.
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        if isContiguous {
            let start = storageOffset * dtype.byteSize
            return try storage.withUnsafeBytes { all in
                try body(UnsafeRawBufferPointer(rebasing: all[start..<(start + byteCount)]))
            }
        }
        let bytes = contiguousBytes()
        return try bytes.withUnsafeBytes { try body($0) }
    }

    /// The values in row-major order, `elementCount × dtype.byteSize` bytes (materialises strided views,
    /// offsets and stride-0 expansions).
    public func contiguousBytes() -> [UInt8] {
        let size = dtype.byteSize
        let total = byteCount
        if total == 0 { return [] }
        if isContiguous {
            let start = storageOffset * size
            return storage.withUnsafeBytes { Array($0[start..<(start + total)]) }
        }
        return [UInt8](unsafeUninitializedCapacity: total) { output, initialized in
            storage.withUnsafeBytes { source in
                gather(source: source, into: UnsafeMutableRawBufferPointer(output), elementSize: size)
            }
            initialized = total
        }
    }

    /// Copies the strided view into `output` in row-major order: an odometer over all but the last
    /// dimension, with one `memcpy` per row when the last stride is 1.
    private func gather(source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, elementSize size: Int) {
        guard let src = source.baseAddress, let dst = output.baseAddress else { return }
        let rank = shape.count
        let inner = rank == 0 ? 1 : shape[rank - 1]
        let innerStride = rank == 0 ? 0 : strides[rank - 1]
        let outer = rank <= 1 ? 1 : elementCount / inner
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        var base = storageOffset
        var written = 0
        for _ in 0..<outer {
            if innerStride == 1 {
                (dst + written).copyMemory(from: src + base * size, byteCount: inner * size)
                written += inner * size
            } else {
                var element = base
                for _ in 0..<inner {
                    (dst + written).copyMemory(from: src + element * size, byteCount: size)
                    written += size
                    element += innerStride
                }
            }
            // Advance the odometer over dimensions 0..<rank-1.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                base += strides[axis]
                if index[axis] < shape[axis] { break }
                base -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// The values as `Float`, row-major. F32 is copied bit-exactly, F16 and BF16 are widened exactly
    /// (F16 subnormals, ±0, ±inf and NaN payloads preserved; BF16 is the upper half of an F32), F64 is
    /// rounded to nearest. Throws for integer and bool tensors.
    public func floats() throws -> [Float] {
        let count = elementCount
        switch dtype {
        case .float32:
            return withContiguousBytes { raw in
                [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    if count > 0, let source = raw.baseAddress, let target = out.baseAddress {
                        UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count * 4)
                    }
                    initialized = count
                }
            }
        case .float16:
            return withContiguousBytes { raw in
                (0..<count).map { TensorRecord.float(fromHalf: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
            }
        case .bfloat16:
            return withContiguousBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16) }
            }
        case .float64:
            return withContiguousBytes { raw in
                (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
            }
        default:
            throw CheckpointError(.invalidArgument, file: "(in memory)", key: name,
                                  "floats() needs a floating-point tensor, this one is \(dtype.rawValue)")
        }
    }

    /// The values as `Int64`, row-major, for I64, I32, I16, I8, U8 and BOOL tensors (bool → 0/1; any
    /// non-zero byte counts as true). Throws for floating-point tensors.
    public func int64s() throws -> [Int64] {
        let count = elementCount
        switch dtype {
        case .int64:
            return withContiguousBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) } }
        case .int32:
            return withContiguousBytes { raw in (0..<count).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) } }
        case .int16:
            return withContiguousBytes { raw in (0..<count).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) } }
        case .int8:
            return withContiguousBytes { raw in (0..<count).map { Int64(Int8(bitPattern: raw[$0])) } }
        case .uint8:
            return withContiguousBytes { raw in (0..<count).map { Int64(raw[$0]) } }
        case .bool:
            return withContiguousBytes { raw in (0..<count).map { raw[$0] != 0 ? 1 : 0 } }
        default:
            throw CheckpointError(.invalidArgument, file: "(in memory)", key: name,
                                  "int64s() needs an integer or bool tensor, this one is \(dtype.rawValue)")
        }
    }

    /// IEEE binary16 → binary32, exact for every input.
    static func float(fromHalf half: UInt16) -> Float {
        let sign = UInt32(half & 0x8000) << 16
        let exponent = UInt32((half >> 10) & 0x1F)
        let mantissa = UInt32(half & 0x3FF)
        switch exponent {
        case 0:
            // ±0 or subnormal: mantissa · 2⁻²⁴ is exact in binary32.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }
}
