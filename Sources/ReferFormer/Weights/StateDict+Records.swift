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
            let borrowed = record.storage.withBytesAndKeeper { bytes, keeper in
                Tensor(borrowingFloat32: bytes, byteOffset: record.storageOffset * MemoryLayout<Float>.stride, shape: record.shape, owner: keeper)
            }
            if let borrowed { return borrowed }
        }
        if record.dtype == .float32 {
            // Misaligned or strided float32: one copy of the row-major bytes straight into the tensor.
            return record.withContiguousBytes { Tensor(shape: record.shape, copyingFloat32: $0) }
        }
        let values: [Float] = record.dtype.isFloatingPoint ? try record.floats() : try record.int64s().map { Float($0) }
        return Tensor(shape: record.shape, elements: values)
    }
}
