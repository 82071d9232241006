import Checkpoint
import Foundation
import ReferFormer
import Tensor
import Testing
import TestSupport

/// `StateDict(pyTorchAt:)` and `StateDict(safetensorsAt:)`: float32 values equal to the reference, zero
/// copy where the storage is float32, contiguous and aligned, decoded copies elsewhere.
@Suite("StateDict loading from .pth and safetensors")
struct StateDictLoadingTests {
    /// The elements in row-major order, whatever the strides (a borrowed view stays as loaded).
    static func values(_ tensor: Tensor) -> [Float] { tensor.scalars }

    @Test("the golden checkpoints (every dtype, views, twins) load with the values of expected.safetensors",
          arguments: ["checkpoint_legacy.pth", "checkpoint_zip.pth"])
    func golden(file: String) throws {
        let dict = try StateDict(pyTorchAt: Fixtures.url("checkpoint").appendingPathComponent(file))
        let expected = try SafeTensors(contentsOf: Fixtures.url("checkpoint/expected.safetensors"))
        #expect(Set(dict.keys) == Set(expected.names))
        for record in expected.tensors {
            let reference: [Float] = record.dtype.isFloatingPoint ? try record.floats() : try record.int64s().map { Float($0) }
            let tensor = dict.take(record.name, shape: record.shape)
            let mine = Self.values(tensor)
            let same = mine.count == reference.count && zip(mine, reference).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
            #expect(same, "\(record.name): \(mine.prefix(6)) vs \(reference.prefix(6))")
            if record.dtype != .float32 { #expect(!tensor.storage.isReadOnly, "\(record.name) \(record.dtype) must be a decoded copy") }
        }
        // A transposed float32 view is decoded, never borrowed with the wrong layout.
        #expect(!dict.take("query_embed.weight", shape: [5, 8]).storage.isReadOnly)
    }

    @Test("the tool's tiny checkpoint: .pth and its safetensors give the same tensors; safetensors F32 is zero-copy",
          .enabled(if: testPython != nil, "needs REFERSTREAM_PYTHON or .venv with numpy"))
    func tinyTool() throws {
        let directory = try temporaryDirectory("statedict")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pth, reference) = try makeTinyCheckpoint(in: directory)
        let fromPth = try StateDict(pyTorchAt: pth), fromSafetensors = try StateDict(safetensorsAt: reference)
        #expect(fromPth.keys == fromSafetensors.keys && fromPth.keys.count == 359)
        var borrowedPth = 0, borrowedSafetensors = 0
        for key in fromSafetensors.keys {
            let shape = try #require(fromSafetensors.shape(of: key))
            let a = fromPth.take(key, shape: shape), b = fromSafetensors.take(key, shape: shape)
            #expect(Self.values(a) == Self.values(b), "\(key) differs")
            if a.storage.isReadOnly { borrowedPth += 1 }
            if b.storage.isReadOnly { borrowedSafetensors += 1 }
        }
        try fromPth.finish()
        // safetensors data starts 8-byte aligned: every tensor borrows the mapping. The legacy .pth storages
        // follow pickles of arbitrary length: all of them borrow or (misaligned file) none do.
        #expect(borrowedSafetensors == 359, "\(borrowedSafetensors) zero-copy")
        #expect(borrowedPth == 359 || borrowedPth == 0, "\(borrowedPth) zero-copy")
    }

    @Test("a file that cannot be read is an .io error that keeps the reader's error as its cause")
    func underlyingCause() throws {
        let missing = Fixtures.url("checkpoint/does-not-exist.safetensors")
        let error = try #require(throws: ReferFormerError.self) { try StateDict(safetensorsAt: missing) }
        #expect(error.code == .io && error.message.contains(missing.path), "\(error)")
        let cause = try #require(error.underlying, "no underlying error")
        #expect(cause is CheckpointError, "underlying \(type(of: cause)): \(cause)")
        #expect(error.message.contains("\(cause)"), "the message repeats the cause: \(error.message)")
    }
}
