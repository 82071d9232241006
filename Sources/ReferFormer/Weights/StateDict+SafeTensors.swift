// Loading a state dict from a safetensors file (module Checkpoint): float32 tensors borrow the
// memory-mapped file (zero copy, see StateDict+Records.swift), other floating-point tensors are widened to
// float32 exactly (F16/BF16) and kept under their official key; integer tensors (stale `position_ids`,
// `num_batches_tracked`) are kept as float32 so strictness can report or ignore them.
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
                pairs.append((record.name, try StateDict.tensor(from: record)))
            } catch {
                throw ReferFormerError(.io, "cannot decode \(record.name) in \(url.path): \(error)")
            }
        }
        self.init(pairs)
    }
}
