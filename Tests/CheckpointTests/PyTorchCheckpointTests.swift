import Foundation
import StrictJSON
import Testing
@testable import Checkpoint

@Suite("PyTorch .pth reader: golden zip and legacy checkpoints")
struct PyTorchCheckpointTests {
    static let files = ["checkpoint_zip.pth", "checkpoint_legacy.pth"]

    /// checkpoint.json parsed with the module's own strict JSON parser (it keeps ints, floats and bools apart).
    static func goldenJSON() throws -> JSONNode {
        try JSONReader.parse(try Support.fixtureBytes("checkpoint.json"), options: .init(rejectsDuplicateKeys: true))
    }

    @Test("state dict: every key in order, dtype, shape, strides, offset and storage size as in checkpoint.json",
          arguments: files)
    func layout(file: String) throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Support.fixture(file))
        #expect(checkpoint.format == (file.contains("zip") ? .zip : .legacy))
        #expect(checkpoint.stateDictKey == "model")
        #expect(checkpoint.skippedEntries.isEmpty, "\(checkpoint.skippedEntries)")
        let golden = try GoldenKey.load()
        #expect(checkpoint.names == golden.map(\.key), "\(checkpoint.names)")
        for key in golden {
            let record = try checkpoint.tensor(key.key)
            #expect(record.dtype == key.dtypeValue, "\(key.key): \(record.dtype) vs \(key.dtype)")
            #expect(record.shape == key.shape, "\(key.key): shape \(record.shape) vs \(key.shape)")
            #expect(record.strides == key.stride, "\(key.key): strides \(record.strides) vs \(key.stride)")
            #expect(record.storageOffset == key.storage_offset, "\(key.key): offset \(record.storageOffset) vs \(key.storage_offset)")
            #expect(record.storage.count == key.storage_numel * record.dtype.byteSize,
                    "\(key.key): storage \(record.storage.count) bytes vs \(key.storage_numel) elements")
            #expect(record.storage.isMemoryMapped, "\(key.key) was copied")
        }
    }

    @Test("every model tensor is bit-exact against expected.safetensors after contiguous()", arguments: files)
    func bitExact(file: String) throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Support.fixture(file))
        let expected = try SafeTensors(contentsOf: Support.fixture("expected.safetensors"))
        #expect(Set(expected.names) == Set(checkpoint.names))
        for reference in expected.tensors {
            let record = try checkpoint.tensor(reference.name)
            #expect(record.dtype == reference.dtype && record.shape == reference.shape, "\(reference.name)")
            let ours = record.contiguousBytes()
            let theirs = reference.contiguousBytes()
            #expect(ours == theirs, "\(reference.name): \(ours.count) vs \(theirs.count) bytes, first difference at \(String(describing: zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset))")
            if record.dtype.isFloatingPoint {
                #expect(try record.floats().map(\.bitPattern) == reference.floats().map(\.bitPattern), "\(reference.name)")
            } else {
                #expect(try record.int64s() == reference.int64s(), "\(reference.name)")
            }
        }
    }

    @Test("shared storages: twin keys, views with offsets and strides, stride-0 expansions", arguments: files)
    func sharing(file: String) throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Support.fixture(file))
        let twin = try checkpoint.tensor("bbox_embed.0.layers.0.weight")
        let original = try checkpoint.tensor("transformer.decoder.bbox_embed.0.layers.0.weight")
        #expect(twin.storage.isSameRegion(as: original.storage))
        let weight = try checkpoint.tensor("controller.layers.0.weight")
        let bias = try checkpoint.tensor("controller.layers.0.bias")
        let strided = try checkpoint.tensor("controller.layers.1.weight")
        #expect(bias.storage.isSameRegion(as: weight.storage) && strided.storage.isSameRegion(as: weight.storage))
        let w = try weight.floats()
        #expect(try bias.floats() == Array(w[8..<11]), "bias = storage[8..<11]")
        // (4, 3) view at offset 1 with strides (6, 2) of the (4, 6) weight: w[r][1 + 2c].
        let expected = (0..<4).flatMap { r in (0..<3).map { c in w[r * 6 + 1 + 2 * c] } }
        #expect(try strided.floats() == expected)
        #expect(try !checkpoint.tensor("query_embed.weight").isContiguous)
        #expect(try checkpoint.tensor("pixel_decoder.layer_1.weight").isContiguous == false)
        let large = try checkpoint.tensor("extra.expanded_large")
        let value = try large.int64s()
        #expect(value.count == 70000 && Set(value).count == 1, "stride-0 tensor of 70000 copies of one byte")
        let expanded = try checkpoint.tensor("extra.expanded").floats()
        #expect((0..<3).allSatisfy { r in Set(expanded[(r * 4)..<(r * 4 + 4)]).count == 1 }, "\(expanded)")
        let distinct = Set(checkpoint.tensors.filter { $0.storage.isSameRegion(as: weight.storage) }.map(\.name))
        #expect(distinct == ["controller.layers.0.weight", "controller.layers.0.bias", "controller.layers.1.weight"])
    }

    /// Compares a pickled value with its JSON rendering in checkpoint.json.
    static func same(_ pickled: PickleValue, _ json: JSONNode) -> Bool {
        switch (pickled, json.value) {
        case (.none, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case (.int(let a), .number): return json.intValue.map { a == $0 } ?? false
        case (.float(let a), .number): return json.doubleValue == a
        case let (.string(a), .string(b)): return a == b
        case let (.list(items), .array(values)), let (.tuple(items), .array(values)):
            return items.count == values.count && zip(items, values).allSatisfy { same($0, $1) }
        default: return false
        }
    }

    @Test("epoch == 3 and every field of the argparse.Namespace args equals checkpoint.json", arguments: files)
    func argsAndEpoch(file: String) throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Support.fixture(file))
        #expect(checkpoint.value("epoch")?.intValue == 3)
        let args = try #require(checkpoint.value("args"))
        guard case .object(let namespace) = args else { Issue.record("args is \(args.kindDescription)"); return }
        #expect(namespace.type == "argparse.Namespace")
        guard let golden = try Self.goldenJSON().objectValue, let fields = golden.first(where: { $0.key == "args" })?.value.objectValue else {
            Issue.record("checkpoint.json has no args object")
            return
        }
        #expect(Set(args.keys) == Set(fields.map(\.key)), "\(args.keys.sorted())")
        for field in fields {
            let value = args[field.key]
            #expect(value.map { Self.same($0, field.value) } == true, "args.\(field.key): \(String(describing: value)) vs \(field.value)")
        }
        #expect(args["hidden_dim"]?.intValue == 256 && args["with_box_refine"]?.boolValue == true)
        #expect(args["lr_backbone"]?.doubleValue == 5e-05 && args["backbone_pretrained"]?.isNone == true)
    }

    @Test("optimizer and lr_scheduler are readable plain data (AdamW state tensors, Counter milestones)", arguments: files)
    func otherEntries(file: String) throws {
        let checkpoint = try PyTorchCheckpoint(contentsOf: Support.fixture(file))
        let optimizer = try #require(checkpoint.value("optimizer"))
        let state = try #require(optimizer["state"])
        guard case .dict(let perParameter) = state else { Issue.record("optimizer.state is \(state.kindDescription)"); return }
        #expect(!perParameter.isEmpty)
        for entry in perParameter {
            let step = try #require(entry.value["step"]?.tensorValue, "step of \(entry.key)")
            #expect(step.shape == [] && step.dtype == .float32)
            #expect(try step.floats() == [3], "AdamW after 3 steps")
            #expect(entry.value["exp_avg"]?.tensorValue != nil && entry.value["exp_avg_sq"]?.tensorValue != nil)
        }
        let groups = try #require(optimizer["param_groups"]?.arrayValue)
        #expect(!groups.isEmpty && groups.allSatisfy { $0["lr"]?.doubleValue != nil && $0["params"]?.arrayValue != nil })
        let milestones = try #require(checkpoint.value("lr_scheduler")?["milestones"])
        guard case .dict(let counts) = milestones else { Issue.record("milestones is \(milestones.kindDescription)"); return }
        #expect(counts.map(\.key.intValue) == [6, 8] && counts.allSatisfy { $0.value.intValue == 1 }, "\(counts)")
    }

    @Test("the zip and legacy files give the same tensors")
    func formatsAgree() throws {
        let zipped = try PyTorchCheckpoint(contentsOf: Support.fixture(Self.files[0]))
        let legacy = try PyTorchCheckpoint(contentsOf: Support.fixture(Self.files[1]))
        #expect(zipped.names == legacy.names)
        for (a, b) in zip(zipped.tensors, legacy.tensors) {
            #expect(a.contiguousBytes() == b.contiguousBytes() && a.strides == b.strides, "\(a.name)")
        }
    }
}
