import Checkpoint
import Foundation
import TestSupport
import ReferFormer
import Testing

/// tools/make_random_checkpoint.py (numpy only) writes official-format `.pth` files; the Swift reader must
/// read them exactly: keys in state-dict order, shapes, values (against the tool's own safetensors dump of
/// the same arrays), the shared-storage twins, and the top level of main.py.
@Suite("tools/make_random_checkpoint.py", .serialized, .enabled(if: testPython != nil, "needs REFERSTREAM_PYTHON or .venv with numpy"))
struct RandomCheckpointToolTests {
    static let tool = packageRoot.appendingPathComponent("tools/make_random_checkpoint.py")

    static func runTool(_ arguments: [String]) throws -> CommandResult {
        let python = try #require(testPython)
        let result = try run(python, [tool.path] + arguments)
        #expect(result.status == 0, "\(result)")
        return result
    }

    @Test("--tiny, legacy and zip: keys, shapes, values, twins, top level; converts to the same tensors",
          arguments: ["legacy", "zip"])
    func tiny(format: String) throws {
        let directory = try temporaryDirectory("tool")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pth = directory.appendingPathComponent("tiny.pth"), reference = directory.appendingPathComponent("tiny.safetensors")
        _ = try Self.runTool([pth.path, "--tiny", "--format", format, "--seed", "3", "--epoch", "7", "--expected", reference.path])

        let checkpoint = try PyTorchCheckpoint(contentsOf: pth)
        let expected = try SafeTensors(contentsOf: reference)
        #expect(checkpoint.format.rawValue == format)
        #expect(checkpoint.stateDictKey == "model")
        #expect(checkpoint.skippedEntries.isEmpty, "\(checkpoint.skippedEntries)")
        #expect(checkpoint.names.count == 359, "\(checkpoint.names.count) keys")
        #expect(checkpoint.names == expected.names, "state-dict order differs")
        for record in expected.tensors {
            let mine = try checkpoint.tensor(record.name)
            #expect(mine.dtype == .float32 && mine.shape == record.shape && mine.isContiguous, "\(record.name): \(mine.dtype) \(mine.shape)")
            #expect(mine.contiguousBytes() == record.contiguousBytes(), "\(record.name): values differ")
        }
        // The box-refinement twins view the same storage (one copy in the file).
        for layer in 0..<2 {
            for suffix in ["layers.0.weight", "layers.2.bias"] {
                let a = try checkpoint.tensor("bbox_embed.\(layer).\(suffix)"), b = try checkpoint.tensor("transformer.decoder.bbox_embed.\(layer).\(suffix)")
                #expect(a.storage.isSameRegion(as: b.storage), "bbox_embed.\(layer).\(suffix) does not share its twin's storage")
            }
        }
        #expect(checkpoint.value("epoch")?.intValue == 7)
        guard case .object(let args)? = checkpoint.value("args") else {
            Issue.record("args is \(String(describing: checkpoint.value("args")))")
            return
        }
        #expect(args.type == "argparse.Namespace")
        #expect(checkpoint.value("args")?["hidden_dim"]?.intValue == 64 && checkpoint.value("args")?["backbone"]?.stringValue == "resnet50")

        // Same key set and shapes as the official tiny model's state dict (golden referformer-tiny weights).
        let golden = try SafeTensors(contentsOf: fixture("referformer-tiny/weights.safetensors"))
        #expect(Set(golden.names) == Set(checkpoint.names), "keys differ: \(Set(golden.names).symmetricDifference(checkpoint.names).sorted().prefix(10))")
        for record in golden.tensors {
            #expect(checkpoint[record.name]?.shape == record.shape, "\(record.name): \(String(describing: checkpoint[record.name]?.shape)), golden \(record.shape)")
        }

        // Architecture inference from the tool's weights gives the golden tiny configuration.
        let shapes = Dictionary(uniqueKeysWithValues: checkpoint.tensors.map { ($0.name, $0.shape) })
        let inferred = try ReferFormerConfiguration.inferred(fromShapes: shapes)
        #expect(inferred.hiddenDim == 64 && inferred.dimFeedforward == 128 && inferred.encLayers == 2 && inferred.decLayers == 2
                && inferred.numQueries == 5 && inferred.maskDim == 64 && inferred.dynamicMaskChannels == 8, "\(inferred)")
        #expect(inferred.backbone == BackboneDescription(layers: [2, 1, 1, 1], widthPerGroup: 8), "\(inferred.backbone)")
        #expect(inferred.textEncoder == TextEncoderDescription(vocabSize: 1000, hiddenSize: 768, numHiddenLayers: 1, numAttentionHeads: 12,
                                                               intermediateSize: 128, maxPositionEmbeddings: 514, typeVocabSize: 1),
                "\(inferred.textEncoder)")

        // And the CLI converts it to exactly the tool's reference tensors.
        let converted = directory.appendingPathComponent("converted.safetensors")
        let result = try runReferstream(["convert", pth.path, converted.path])
        #expect(result.status == 0 && result.stdout.contains("tensors: 359\n") && result.stdout.contains("shared-storage groups: 12 "), "\(result)")
        try ConvertCommandTests.expectSameTensors(try SafeTensors(contentsOf: converted), expected)
    }

    @Test("the legacy file has torch.save's layout: the golden file's first three pickles byte for byte, its opcodes and globals")
    func legacyLayoutMatchesGolden() throws {
        let directory = try temporaryDirectory("tool-layout")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pth = directory.appendingPathComponent("tiny.pth")
        _ = try Self.runTool([pth.path, "--tiny"])
        let golden = try Data(contentsOf: fixture("checkpoint/checkpoint_legacy.pth"))
        let mine = try Data(contentsOf: pth)
        // checkpoint.json: legacy_format.main_pickle_offset = 137 (magic, protocol 1001, sys_info).
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture("checkpoint/checkpoint.json"))) as? [String: Any]
        let legacy = json?["legacy_format"] as? [String: Any] ?? [:]
        let offset = try #require(legacy["main_pickle_offset"] as? Int)
        #expect(mine.prefix(offset) == golden.prefix(offset), "the first \(offset) bytes differ from torch.save's")
        // Opcodes and globals of the main pickle (Python's pickletools, no unpickling) ⊆ the golden file's.
        let script = """
            import pickle, pickletools, sys, json
            f = open(sys.argv[1], 'rb')
            for _ in range(3): pickle.load(f)
            ops, globs, pids = set(), set(), 0
            for op, arg, pos in pickletools.genops(f):
                ops.add(op.name)
                if op.name == 'GLOBAL': globs.add(arg.replace(' ', '.'))
                if op.name == 'BINPERSID': pids += 1
                if op.name == 'STOP': break
            keys = pickle.load(f)
            print(json.dumps({'ops': sorted(ops), 'globals': sorted(globs), 'pids': pids, 'keys': len(keys), 'sorted': keys == sorted(keys)}))
            """
        let python = try #require(testPython)
        let result = try run(python, ["-c", script, pth.path])
        let info = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
        let goldenPickle = legacy["pickle"] as? [String: Any] ?? [:]
        let goldenOps = Set((goldenPickle["opcodes"] as? [String: Any] ?? [:]).keys)
        let goldenGlobals = Set(goldenPickle["globals"] as? [String] ?? [])
        let ops = Set(info["ops"] as? [String] ?? []), globals = Set(info["globals"] as? [String] ?? [])
        #expect(!ops.isEmpty && ops.isSubset(of: goldenOps), "opcodes not in torch.save's file: \(ops.subtracting(goldenOps))")
        #expect(globals == ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "argparse.Namespace"],
                "\(globals)")
        #expect(globals.isSubset(of: goldenGlobals))
        // One persistent id per tensor (twins included), one storage key per storage, keys sorted as torch does.
        #expect(info["pids"] as? Int == 359 && info["keys"] as? Int == 347 && info["sorted"] as? Bool == true, "\(info)")
    }

    @Test("the full-size key list: 804 keys, 24 twins, inference gives the official R50 configuration")
    func fullSizeKeyList() throws {
        let listing = try Self.runTool(["unused.pth", "--list"]).stdout
        var shapes: [String: [Int]] = [:]
        var twins = 0
        for line in listing.split(separator: "\n") {
            // "key dtype [a, b, …] [shares owner]"
            let key = String(line.prefix { $0 != " " })
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { continue }
            shapes[key] = line[line.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if line.contains(" shares transformer.decoder.bbox_embed.") { twins += 1 }
        }
        #expect(shapes.count == 804 && twins == 24, "\(shapes.count) keys, \(twins) twins")
        #expect(shapes.keys.filter { $0.hasPrefix("backbone.") }.count == 265)
        #expect(shapes.keys.filter { $0.hasPrefix("text_encoder.") }.count == 199)
        // Element counts of spec §2 (millions, two decimals); the transformer's figure without the twins.
        func millions(_ prefix: String, excluding excluded: String? = nil) -> Double {
            let n = shapes.filter { $0.key.hasPrefix(prefix) && !(excluded.map($0.key.hasPrefix) ?? false) }
                .values.reduce(0) { $0 + $1.reduce(1, *) }
            return (Double(n) / 1e4).rounded() / 100
        }
        for (prefix, expected) in [("backbone.", 23.56), ("text_encoder.", 124.65), ("input_proj.", 5.64),
                                   ("pixel_decoder.", 9.53), ("controller.", 0.68)] {
            #expect(millions(prefix) == expected, "\(prefix): \(millions(prefix)) M elements, spec \(expected)")
        }
        let transformer = millions("transformer.", excluding: "transformer.decoder.bbox_embed.")
        #expect(transformer == 11.31, "transformer without the twins: \(transformer) M")
        #expect(millions("transformer.decoder.bbox_embed.") == 0.53)
        let inferred = try ReferFormerConfiguration.inferred(fromShapes: shapes)
        #expect(inferred == ReferFormerConfiguration(), "inferred \(inferred)")
        #expect(inferred.backbone == .resnet50 && inferred.textEncoder == .robertaBase, "\(inferred.backbone) \(inferred.textEncoder)")
    }
}
