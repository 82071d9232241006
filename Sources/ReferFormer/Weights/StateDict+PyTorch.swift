// Loading a state dict from an official PyTorch checkpoint (`.pth`, legacy or zip format) through the
// pure-Swift reader of module Checkpoint: the `model` entry of main.py's {'model': …, 'optimizer': …,
// 'epoch': …, 'args': …} (or the top-level dict), every tensor under its official key. Float32 tensors
// borrow the memory-mapped file where the storage is aligned (see StateDict+Records.swift); tensors that
// share a storage (the transformer.decoder.bbox_embed.* twins) borrow the same bytes.
import Checkpoint
import Foundation
import Tensor

extension StateDict {
    /// Reads every state-dict tensor of the PyTorch checkpoint at `url`.
    /// - Throws: `.io` with the reader's message when the file cannot be read or decoded.
    public convenience init(pyTorchAt url: URL) throws(ReferFormerError) {
        let checkpoint: PyTorchCheckpoint
        do {
            checkpoint = try PyTorchCheckpoint(contentsOf: url)
        } catch {
            throw ReferFormerError(.io, "cannot read the weights \(url.path): \(error)")
        }
        var pairs: [(String, Tensor)] = []
        pairs.reserveCapacity(checkpoint.tensors.count)
        for record in checkpoint.tensors {
            do {
                pairs.append((record.name, try StateDict.tensor(from: record)))
            } catch {
                throw ReferFormerError(.io, "cannot decode \(record.name) in \(url.path): \(error)")
            }
        }
        self.init(pairs)
    }
}
