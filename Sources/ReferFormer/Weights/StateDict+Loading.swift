// Loading a state dict from a checkpoint file through the pure-Swift readers of module Checkpoint:
// a safetensors file, or an official PyTorch checkpoint (`.pth`, legacy or zip format: the `model` entry
// of main.py's {'model': …, 'optimizer': …, 'epoch': …, 'args': …}, or the top-level dict). Every tensor
// keeps its official key; float32 tensors borrow the memory-mapped file where the storage is aligned
// (StateDict+Records.swift), and tensors that share a storage (the transformer.decoder.bbox_embed.*
// twins) borrow the same bytes.
import Checkpoint
import Foundation
import Tensor

extension StateDict {
    /// Reads the weights at `url`, recognising the format from the file's first bytes, not its name.
    /// - Throws: `.io` naming the file when it is missing, unreadable or in neither format.
    public convenience init(contentsOf url: URL) throws(ReferFormerError) {
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw ReferFormerError(.io, "cannot read the weights \(url.path): no such readable file")
        }
        let format: CheckpointFormat
        do {
            format = try CheckpointFormat(contentsOf: url)
        } catch let error as CheckpointError where error.code == .unrecognizedFormat {
            throw ReferFormerError(.io, "\(url.path) is \(error.message): give the official .pth file or a .safetensors file", underlying: error)
        } catch {
            throw ReferFormerError(.io, "cannot read the weights \(url.path): \(error)", underlying: error)
        }
        if format == .safetensors {
            try self.init(safetensorsAt: url)
        } else {
            try self.init(pyTorchAt: url)
        }
    }

    /// Reads every state-dict tensor of the PyTorch checkpoint at `url`.
    /// - Throws: `.io` with the reader's message when the file cannot be read or decoded.
    public convenience init(pyTorchAt url: URL) throws(ReferFormerError) {
        let checkpoint: PyTorchCheckpoint
        do {
            checkpoint = try PyTorchCheckpoint(contentsOf: url)
        } catch {
            throw ReferFormerError(.io, "cannot read the weights \(url.path): \(error)", underlying: error)
        }
        try self.init(records: checkpoint.tensors, source: url)
    }

    /// Reads every tensor of the safetensors file at `url`.
    /// - Throws: `.io` with the reader's message when the file cannot be read or decoded.
    public convenience init(safetensorsAt url: URL) throws(ReferFormerError) {
        let file: SafeTensors
        do {
            file = try SafeTensors(contentsOf: url)
        } catch {
            throw ReferFormerError(.io, "cannot read the weights \(url.path): \(error)", underlying: error)
        }
        try self.init(records: file.tensors, source: url)
    }

    private convenience init(records: [TensorRecord], source url: URL) throws(ReferFormerError) {
        var pairs: [(String, Tensor)] = []
        pairs.reserveCapacity(records.count)
        for record in records {
            do {
                pairs.append((record.name, try StateDict.tensor(from: record)))
            } catch {
                throw ReferFormerError(.io, "cannot decode \(record.name) in \(url.path): \(error)", underlying: error)
            }
        }
        self.init(pairs)
    }
}
