import Foundation

/// Converts a PyTorch `.pth` checkpoint's state dict into a safetensors file (the `referstream convert`
/// command builds on it). The data is laid out by decreasing element size (see `SafeTensors.write`), so
/// every tensor of the output is aligned to its element size when mapped. Tensors are written contiguous, one at a time, straight from the memory-mapped
/// checkpoint (a strided view is materialised only while it is written), so peak memory stays about one
/// tensor whatever the checkpoint size.
public enum CheckpointConverter {
    public struct Options: Sendable {
        /// Write F16, BF16 and F64 tensors as F32 (exact for F16/BF16, rounded for F64). Integer and bool
        /// tensors keep their dtype.
        public var castFloatingPointToFloat32: Bool
        /// The safetensors `__metadata__` (default `{"format": "pt"}`, what the Python package writes).
        public var metadata: [String: String]

        public init(castFloatingPointToFloat32: Bool = false, metadata: [String: String] = ["format": "pt"]) {
            self.castFloatingPointToFloat32 = castFloatingPointToFloat32
            self.metadata = metadata
        }
    }

    public struct Report: Sendable {
        /// Format of the source checkpoint.
        public var sourceFormat: PyTorchCheckpoint.Format
        /// Tensors written.
        public var tensorCount: Int
        /// Bytes of tensor data written (header excluded).
        public var tensorBytes: Int
        /// Size of the written file.
        public var fileBytes: Int
        /// State-dict keys whose values were not tensors (not written).
        public var skippedEntries: [String]
        /// Groups of keys (two or more) whose tensors share one PyTorch storage, e.g. the box-refinement
        /// twins of ReferFormer; each key is written as its own copy (safetensors cannot alias).
        public var sharedStorage: [[String]]
        /// Groups of keys (two or more) that are the same tensor (same storage, offset, shape and strides),
        /// a subset of `sharedStorage`.
        public var twins: [[String]]
    }

    /// Reads `pth` and writes its state dict (in order, each tensor contiguous) to `safetensorsURL`.
    /// - Parameters:
    ///   - progress: called after each tensor with (tensors written, total).
    /// - Throws: `CheckpointError` from reading `pth` or writing the output (the partial output is removed).
    @discardableResult
    public static func convert(pth: URL, to safetensorsURL: URL, options: Options = Options(),
                               progress: ((_ written: Int, _ total: Int) -> Void)? = nil) throws -> Report {
        let checkpoint = try PyTorchCheckpoint(contentsOf: pth)
        let tensors = checkpoint.tensors
        func outputDType(_ record: TensorRecord) -> DType {
            options.castFloatingPointToFloat32 && record.dtype.isFloatingPoint ? .float32 : record.dtype
        }
        let layout = tensors.map {
            SafeTensors.Layout(name: $0.name, dtype: outputDType($0), shape: $0.shape,
                               byteCount: $0.elementCount * outputDType($0).byteSize)
        }
        var tensorBytes = 0
        var written = 0
        try SafeTensors.writeStreaming(layout, metadata: options.metadata, to: safetensorsURL) { index, output in
            let record = tensors[index]
            if outputDType(record) != record.dtype {
                let values = try record.floats()
                try values.withUnsafeBytes { try output.write($0) }
            } else {
                try record.withContiguousBytes { try output.write($0) }
            }
            tensorBytes += layout[index].byteCount
            written += 1
            progress?(written, tensors.count)
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: safetensorsURL.path)
        return Report(sourceFormat: checkpoint.format, tensorCount: tensors.count, tensorBytes: tensorBytes,
                      fileBytes: (attributes?[.size] as? NSNumber)?.intValue ?? 0,
                      skippedEntries: checkpoint.skippedEntries, sharedStorage: sharedStorageGroups(tensors),
                      twins: twinGroups(tensors))
    }

    /// Keys grouped by identical views of one storage, for groups of two or more, in state-dict order.
    static func twinGroups(_ tensors: [TensorRecord]) -> [[String]] {
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return sharedStorageGroups(tensors).flatMap { group -> [[String]] in
            let records = group.compactMap { byName[$0] }
            var twins: [[TensorRecord]] = []
            for record in records {
                if let index = twins.firstIndex(where: { $0[0].shape == record.shape && $0[0].strides == record.strides
                                                         && $0[0].storageOffset == record.storageOffset && $0[0].dtype == record.dtype }) {
                    twins[index].append(record)
                } else {
                    twins.append([record])
                }
            }
            return twins.filter { $0.count > 1 }.map { $0.map(\.name) }
        }
    }

    /// Keys grouped by the storage they view, for groups of two or more, in state-dict order.
    static func sharedStorageGroups(_ tensors: [TensorRecord]) -> [[String]] {
        var groups: [[String]] = []
        var representatives: [TensorRecord] = []
        var bucket: [String: [Int]] = [:]  // storage identity → indices into groups
        for record in tensors where record.storage.count > 0 {
            let identity = "\(ObjectIdentifier(record.storage.owner).hashValue):\(record.storage.offset):\(record.storage.count)"
            if let group = bucket[identity]?.first(where: { representatives[$0].storage.isSameRegion(as: record.storage) }) {
                groups[group].append(record.name)
            } else {
                bucket[identity, default: []].append(groups.count)
                groups.append([record.name])
                representatives.append(record)
            }
        }
        return groups.filter { $0.count > 1 }
    }
}
