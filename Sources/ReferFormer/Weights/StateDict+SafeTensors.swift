// Loading a state dict from a safetensors file (module Checkpoint): every floating-point tensor is
// widened to float32 exactly (F16/BF16) and kept under its official key; integer tensors (stale
// `position_ids`, `num_batches_tracked`) are kept as float32 so strictness can report or ignore them.
import Checkpoint
import Foundation
import Tensor

extension StateDict {
    /// Reads every tensor of the safetensors file at `url`.
    /// - Throws: `.io` with the reader's message when the file cannot be read or decoded.
    public convenience init(safetensorsAt url: URL) throws(ReferFormerError) {
        let file: SafeTensors
        do {
            file = try SafeTensors(contentsOf: url)
        } catch {
            throw ReferFormerError(.io, "cannot read the weights \(url.path): \(error)")
        }
        var pairs: [(String, Tensor)] = []
        pairs.reserveCapacity(file.tensors.count)
        for record in file.tensors {
            do {
                let values: [Float]
                if record.dtype.isFloatingPoint {
                    values = try record.floats()
                } else {
                    values = try record.int64s().map { Float($0) }
                }
                pairs.append((record.name, Tensor(shape: record.shape, elements: values)))
            } catch {
                throw ReferFormerError(.io, "cannot decode \(record.name) in \(url.path): \(error)")
            }
        }
        self.init(pairs)
    }
}
