import Foundation
import Testing
import TestSupport
@testable import Checkpoint

@Suite("safetensors reader and writer")
struct SafeTensorsTests {
    @Test("expected.safetensors: every key of checkpoint.json with its dtype and shape, memory-mapped")
    func readsGolden() throws {
        let file = try SafeTensors(contentsOf: Support.fixture("expected.safetensors"))
        let golden = try GoldenKey.load()
        #expect(Set(file.names) == Set(golden.map(\.key)), "names \(file.names.sorted()) vs \(golden.map(\.key).sorted())")
        #expect(file.metadata == ["format": "pt"], "\(file.metadata)")
        for key in golden {
            let record = try file.tensor(key.key)
            #expect(record.dtype == key.dtypeValue, "\(key.key): \(record.dtype) vs \(key.dtype)")
            #expect(record.shape == key.shape, "\(key.key): \(record.shape) vs \(key.shape)")
            #expect(record.isContiguous && record.storage.isMemoryMapped, "\(key.key)")
        }
        // File order = data-offset order.
        let begins = file.tensors.map { record in record.storage.offset }
        #expect(begins == begins.sorted(), "\(begins)")
        #expect(file["no.such.key"] == nil)
        #expect(throws: CheckpointError.self) { try file.tensor("no.such.key") }
    }

    @Test("values equal what the Python safetensors package reads (bytes of every tensor)",
          .enabled(if: Support.pythonHasSafetensors, "needs REFERSTREAM_PYTHON with safetensors"))
    func goldenMatchesPython() throws {
        let url = Support.fixture("expected.safetensors")
        let script = """
        import sys, safetensors
        for name, t in safetensors.deserialize(open(sys.argv[1], 'rb').read()):
            print(name, t['dtype'], ','.join(map(str, t['shape'])), bytes(t['data']).hex())
        """
        let lines = try Support.runPython(script, arguments: [url.path]).split(separator: "\n")
        let file = try SafeTensors(contentsOf: url)
        #expect(lines.count == file.names.count, "\(lines.count) vs \(file.names.count)")
        for line in lines {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            let record = try file.tensor(parts[0])
            #expect(record.dtype.rawValue == parts[1], "\(parts[0])")
            #expect(record.shape.map(String.init).joined(separator: ",") == parts[2], "\(parts[0])")
            #expect(Support.hex(record.contiguousBytes()) == parts[3], "\(parts[0]) bytes differ")
        }
    }

    @Test("F16 widening equals Swift's Float16 for all 65536 bit patterns (NaN payloads kept)")
    func halfConversionExhaustive() {
        var mismatches: [UInt16] = []
        for bits in 0...UInt16.max {
            let ours = TensorRecord.float(fromHalf: bits)
            let reference = Float(Float16(bitPattern: bits))
            if ours.isNaN ? !reference.isNaN : ours.bitPattern != reference.bitPattern { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatching patterns: \(mismatches.prefix(8))")
    }

    @Test("floats(): F16 specials, BF16, F64; int64s(): I64, I32, I8, U8, BOOL")
    func conversions() throws {
        let file = try SafeTensors(contentsOf: Support.fixture("expected.safetensors"))
        let special = try file.tensor("extra.float16_special").floats()
        let halves = try file.tensor("extra.float16_special").contiguousBytes()
        let expected = stride(from: 0, to: halves.count, by: 2).map {
            Float(Float16(bitPattern: UInt16(halves[$0]) | UInt16(halves[$0 + 1]) << 8))
        }
        #expect(special.map(\.bitPattern) == expected.map(\.bitPattern), "\(special) vs \(expected)")
        // The golden's note says "min normal", but the value stored is 6.1e-5 rounded to F16, which is the
        // largest subnormal 0x03FF; 2^-24 (0x0001) is the smallest subnormal.
        let exact: [Float] = [0, -0.0, 65504, Float(Float16(bitPattern: 0x03FF)), 0x1p-24, .infinity, -.infinity]
        #expect(special.map(\.bitPattern) == exact.map(\.bitPattern), "\(special)")
        #expect(Float(Float16(bitPattern: 0x03FF)) == 1023 * 0x1p-24)
        let bf16 = try file.tensor("extra.bfloat16")
        let bfBytes = bf16.contiguousBytes()
        let bfFloats = try bf16.floats()
        for (i, value) in bfFloats.enumerated() {
            let upper = UInt32(bfBytes[2 * i]) << 16 | UInt32(bfBytes[2 * i + 1]) << 24
            #expect(value.bitPattern == upper, "bf16[\(i)]")
        }
        let f64 = try file.tensor("extra.float64")
        let doubles = f64.contiguousBytes().withUnsafeBytes { raw in (0..<6).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
        #expect(try f64.floats() == doubles.map { Float($0) })
        #expect(try file.tensor("backbone.0.body.bn1.num_batches_tracked").int64s().count == 1)
        let positions = try file.tensor("text_encoder.embeddings.position_ids").int64s()
        #expect(positions == Array(2..<14), "position_ids \(positions)")  // golden: storage offset 2 of arange(14)
        #expect(try file.tensor("extra.bool").int64s().allSatisfy { $0 == 0 || $0 == 1 })
        #expect(throws: CheckpointError.self) { try file.tensor("extra.int32").floats() }
        #expect(throws: CheckpointError.self) { try file.tensor("extra.float64").int64s() }
    }

    @Test("writer: round trip of every dtype, 0-dim and empty tensors, metadata; header 8-byte aligned")
    func writerRoundTrip() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(seed: 7)
        var items: [SafeTensors.Item] = []
        for (i, dtype) in DType.allCases.enumerated() {
            let shape = [i % 3 + 1, 5 - i % 4]
            items.append(.init(name: "t\(i).\(dtype.rawValue)", dtype: dtype, shape: shape,
                               bytes: random.bytes(shape.reduce(1, *) * dtype.byteSize)))
        }
        items.append(.init(name: "scalar", dtype: .float32, shape: [], bytes: [0, 0, 0x80, 0x3F]))
        items.append(.init(name: "empty", dtype: .float32, shape: [0, 3], bytes: []))
        items.append(.init(name: "odd \"name\"\\ with ünïcode", dtype: .uint8, shape: [3], bytes: [1, 2, 3]))
        let url = directory.appendingPathComponent("round.safetensors")
        try SafeTensors.write(items, metadata: ["format": "pt", "note": "a \"quoted\"\nline"], to: url)
        let raw = try Data(contentsOf: url)
        let headerLength = raw.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect((8 + headerLength) % 8 == 0, "header length \(headerLength)")
        let file = try SafeTensors(contentsOf: url)
        let bySize = items.enumerated().sorted { (-$0.element.dtype.byteSize, $0.offset) < (-$1.element.dtype.byteSize, $1.offset) }
        #expect(file.names == bySize.map(\.element.name), "data ordered by decreasing element size: \(file.names)")
        #expect(file.tensors.allSatisfy { $0.storage.isAligned(to: $0.dtype.byteSize) })
        #expect(file.metadata == ["format": "pt", "note": "a \"quoted\"\nline"])
        for item in items {
            let record = try file.tensor(item.name)
            #expect(record.dtype == item.dtype && record.shape == item.shape, "\(item.name)")
            #expect(record.contiguousBytes() == item.bytes.bytes, "\(item.name)")
        }
        #expect(try file.tensor("scalar").floats() == [1])
        #expect(try file.tensor("empty").floats() == [])
    }

    @Test("writer output reads in Python safetensors; Python output reads here",
          .enabled(if: Support.pythonHasSafetensors, "needs REFERSTREAM_PYTHON with safetensors"))
    func pythonCrossCheck() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SplitMix64(seed: 11)
        let items: [SafeTensors.Item] = DType.allCases.enumerated().map { i, dtype in
            .init(name: "w.\(i)", dtype: dtype, shape: [2, i + 1], bytes: random.bytes(2 * (i + 1) * dtype.byteSize))
        } + [.init(name: "scalar", dtype: .float64, shape: [], bytes: random.bytes(8)),
             .init(name: "empty", dtype: .int64, shape: [3, 0], bytes: [])]
        let ours = directory.appendingPathComponent("swift.safetensors")
        try SafeTensors.write(items, metadata: ["who": "swift"], to: ours)
        let script = """
        import sys, safetensors, json
        data = open(sys.argv[1], 'rb').read()
        n = int.from_bytes(data[:8], 'little')
        meta = json.loads(data[8:8 + n]).get('__metadata__')
        print(json.dumps(meta))
        for name, t in safetensors.deserialize(data):
            print(name, t['dtype'], ','.join(map(str, t['shape'])), bytes(t['data']).hex())
        """
        let lines = try Support.runPython(script, arguments: [ours.path]).split(separator: "\n")
        #expect(lines.first == "{\"who\": \"swift\"}", "\(lines.first ?? "")")
        let byName = Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0) })
        #expect(lines.count == items.count + 1)
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            let item = try #require(byName[parts[0]], "unknown name \(parts[0])")
            #expect(parts[1] == item.dtype.rawValue && parts[2] == item.shape.map(String.init).joined(separator: ","), "\(line)")
            #expect(parts[3] == Support.hex(item.bytes.bytes), "\(parts[0]) bytes")
        }

        let theirs = directory.appendingPathComponent("python.safetensors")
        let writer = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({'a': np.arange(12, dtype=np.float32).reshape(3, 4) / 7, 'b': np.array([-0.0, 1e-7, 65504], dtype=np.float16),
                   'c': np.arange(-3, 3, dtype=np.int64), 'd': np.array([True, False]), 'e': np.zeros((0, 2), np.float32)},
                  sys.argv[1], metadata={'k': 'v'})
        """
        try Support.runPython(writer, arguments: [theirs.path])
        let file = try SafeTensors(contentsOf: theirs)
        #expect(file.metadata == ["k": "v"])
        #expect(try file.tensor("a").floats() == (0..<12).map { Float($0) / 7 })
        #expect(try file.tensor("a").shape == [3, 4])
        #expect(try file.tensor("b").floats().map(\.bitPattern) == [Float(-0.0), Float(Float16(1e-7)), 65504].map(\.bitPattern))
        #expect(try file.tensor("c").int64s() == [-3, -2, -1, 0, 1, 2])
        #expect(try file.tensor("d").int64s() == [1, 0])
        #expect(try file.tensor("e").shape == [0, 2])
    }

    @Test("writer rejects duplicate names, __metadata__ as a name and byte counts that do not fit the shape")
    func writerRejects() throws {
        let directory = try Support.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bad.safetensors")
        let a = SafeTensors.Item(name: "a", dtype: .float32, shape: [2], bytes: [UInt8](repeating: 0, count: 8))
        #expect(throws: CheckpointError.self) { try SafeTensors.write([a, a], to: url) }
        #expect(throws: CheckpointError.self) {
            try SafeTensors.write([.init(name: "__metadata__", dtype: .uint8, shape: [1], bytes: [1])], to: url)
        }
        #expect(throws: CheckpointError.self) {
            try SafeTensors.write([.init(name: "a", dtype: .float32, shape: [3], bytes: [UInt8](repeating: 0, count: 8))], to: url)
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(leftovers.isEmpty, "partial files left: \(leftovers)")
    }
}

@Suite("TensorRecord views")
struct TensorRecordTests {
    @Test("views outside their storage, negative strides and overflowing shapes are rejected")
    func validation() {
        let storage = StorageBytes([UInt8](repeating: 0, count: 24))  // 6 float32
        #expect(throws: CheckpointError.self) { try TensorRecord(name: "a", dtype: .float32, shape: [7], strides: [1], storageOffset: 0, storage: storage) }
        #expect(throws: CheckpointError.self) { try TensorRecord(name: "a", dtype: .float32, shape: [2, 3], strides: [3, 1], storageOffset: 1, storage: storage) }
        #expect(throws: CheckpointError.self) { try TensorRecord(name: "a", dtype: .float32, shape: [2], strides: [-1], storageOffset: 1, storage: storage) }
        #expect(throws: CheckpointError.self) { try TensorRecord(name: "a", dtype: .float32, shape: [2], strides: [1, 1], storageOffset: 0, storage: storage) }
        #expect(throws: CheckpointError.self) { try TensorRecord(name: "a", dtype: .float32, shape: [1 << 40, 1 << 40], strides: [0, 0], storageOffset: 0, storage: storage) }
        #expect(throws: CheckpointError.self) { try TensorRecord(name: "a", dtype: .float32, shape: [2], strides: [Int.max], storageOffset: 0, storage: storage) }
        #expect(throws: CheckpointError.self) { try TensorRecord(name: "a", dtype: .float32, shape: [1], strides: [1], storageOffset: -1, storage: storage) }
    }

    @Test("an empty view with an offset past its storage materialises to nothing (no out-of-range slice)")
    func emptyViewOffset() throws {
        let record = try TensorRecord(name: "e", dtype: .float32, shape: [0, 3], strides: [3, 1], storageOffset: 100,
                                      storage: StorageBytes([]))
        #expect(try record.contiguousBytes().isEmpty && record.floats().isEmpty)
        #expect(record.withContiguousBytes { $0.count } == 0)
        #expect(SafeTensors.Item(record).bytes.count == 0)
    }

    @Test("strided gather: permuted 3-d view of 0..<24 equals the index arithmetic")
    func gather() throws {
        let values = (0..<24).map(Float.init)
        let storage = values.withUnsafeBytes { StorageBytes(copying: $0) }
        #expect(storage.isAligned(to: 64))
        // Base tensor (2, 3, 4) row-major; view = permute(2, 0, 1) → shape (4, 2, 3), strides (1, 12, 4).
        let view = try TensorRecord(name: "p", dtype: .float32, shape: [4, 2, 3], strides: [1, 12, 4], storageOffset: 0, storage: storage)
        var expected: [Float] = []
        for k in 0..<4 { for i in 0..<2 { for j in 0..<3 { expected.append(Float(i * 12 + j * 4 + k)) } } }
        #expect(try view.floats() == expected)
        #expect(!view.isContiguous)
        let scalar = try TensorRecord(name: "s", dtype: .float32, shape: [], strides: [], storageOffset: 5, storage: storage)
        #expect(try scalar.floats() == [5] && scalar.isContiguous)
    }
}

@Suite("DType")
struct DTypeTests {
    @Test("torch storage classes map to dtypes with PyTorch's element sizes; CUDA classes like CPU ones")
    func storageClasses() {
        let sizes = ["Float": 4, "Half": 2, "BFloat16": 2, "Double": 8, "Long": 8, "Int": 4, "Short": 2, "Char": 1, "Byte": 1, "Bool": 1]
        for (name, size) in sizes {
            #expect(DType(torchStorageClass: "torch.\(name)Storage")?.byteSize == size, "\(name)")
            #expect(DType(torchStorageClass: "torch.cuda.\(name)Storage") == DType(torchStorageClass: "torch.\(name)Storage"))
        }
        #expect(DType(torchStorageClass: "torch.QInt8Storage") == nil)
        #expect(DType(torchStorageClass: "torch.ComplexFloatStorage") == nil)
    }
}
