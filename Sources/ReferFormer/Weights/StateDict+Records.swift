// Checkpoint records → float32 tensors, shared by the safetensors and .pth loaders. A contiguous float32
// record whose first element is 4-byte aligned becomes a tensor that borrows the memory-mapped bytes
// (no copy, pages read on first use); anything else (F16/BF16/F64 widened, integer buffers, strided views,
// misaligned storages of the legacy .pth format) is decoded into owned storage.
import Checkpoint
import Tensor

extension StateDict {
    /// The float32 tensor for `record`: zero copy when it is float32, contiguous and aligned (the tensor
    /// then keeps the file mapping alive and is read-only; writing to it copies), a decoded copy otherwise.
    /// Integer tensors (`position_ids`, `num_batches_tracked`) become float32 so that strict loading can
    /// report or ignore them.
    /// - Throws: `CheckpointError` from decoding.
    public static func tensor(from record: TensorRecord) throws -> Tensor {
        if record.dtype == .float32 && record.isContiguous && record.elementCount > 0 {
            let borrowed: TensorStorage? = record.storage.withBytesAndKeeper { bytes, keeper in
                guard let base = bytes.baseAddress else { return nil }
                let start = base + record.storageOffset * MemoryLayout<Float>.stride
                guard Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0,
                      record.storageOffset * 4 + record.byteCount <= bytes.count else { return nil }
                let floats = UnsafeMutableRawPointer(mutating: start).bindMemory(to: Float.self, capacity: record.elementCount)
                return TensorStorage(borrowing: floats, count: record.elementCount, owner: keeper)
            }
            if let borrowed {
                return Tensor(storage: borrowed, shape: record.shape, strides: Tensor.contiguousStrides(for: record.shape))
            }
        }
        if record.dtype == .float32 {
            // Misaligned or strided float32: one copy of the row-major bytes straight into the tensor.
            return Tensor(shape: record.shape) { elements in
                record.withContiguousBytes { UnsafeMutableRawBufferPointer(elements).copyMemory(from: $0) }
            }
        }
        let values: [Float] = record.dtype.isFloatingPoint ? try record.floats() : try record.int64s().map { Float($0) }
        return Tensor(shape: record.shape, elements: values)
    }
}
