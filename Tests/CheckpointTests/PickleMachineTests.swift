import Foundation
import Testing
@testable import Checkpoint

@Suite("Safe pickle machine")
struct PickleMachineTests {
    /// Decodes with a smaller expansion budget than the default, to keep the bound test quick in debug builds.
    static func decode(_ bytes: [UInt8]) throws -> PickleValue {
        var machine = PickleMachine(file: "test.pkl", context: "test")
        let (value, end) = try bytes.withUnsafeBytes { try machine.run($0) }
        #expect(end == bytes.count)
        var builder = TreeBuilder(machine: machine, file: "test.pkl", pickleBytes: bytes.count, budget: 200_000) { key in
            throw CheckpointError(.missingStorage, file: "test.pkl", key: key, "no storages in this test")
        }
        return try builder.convert(value)
    }

    /// A canonical text form, produced the same way by the Python script below.
    static func render(_ value: PickleValue) -> String {
        switch value {
        case .none: return "N"
        case .bool(let flag): return flag ? "T" : "F"
        case .int(let number): return String(number)
        case .bigInt(let digits): return "L" + Support.hex(digits)
        case .float(let number): return "f" + Support.hex(withUnsafeBytes(of: number.bitPattern.littleEndian) { Array($0) })
        case .string(let text): return "s" + Support.hex(Array(text.utf8))
        case .bytes(let bytes): return "b" + Support.hex(bytes)
        case .list(let items): return "[" + items.map(render).joined(separator: ",") + "]"
        case .tuple(let items): return "(" + items.map(render).joined(separator: ",") + ")"
        case .set(let items): return "{" + items.map(render).joined(separator: ",") + "}"
        case .dict(let entries): return "<" + entries.map { render($0.key) + ":" + render($0.value) }.joined(separator: ",") + ">"
        case .cycle: return "..."
        case .global(let name): return "g" + name
        case .object(let object): return "o" + object.type
        case .tensor, .unreadableTensor: return "tensor"
        }
    }

    @Test("Python pickles of nested plain data decode identically at protocols 0 to 5",
          .enabled(if: Support.python != nil, "needs REFERSTREAM_PYTHON"), arguments: 0...5)
    func pythonProtocols(protocolVersion: Int) throws {
        let script = """
        import sys, pickle, struct, collections
        def render(x, path=()):
            if id(x) in path: return '...'
            p = path + (id(x),)
            if x is None: return 'N'
            if x is True: return 'T'
            if x is False: return 'F'
            if isinstance(x, int):
                if -2**63 <= x < 2**63: return str(x)
                n = (x if x >= 0 else ~x).bit_length() // 8 + 1
                return 'L' + x.to_bytes(n, 'little', signed=True).hex()
            if isinstance(x, float): return 'f' + struct.pack('<d', x).hex()
            if isinstance(x, str): return 's' + x.encode('utf-8').hex()
            if isinstance(x, (bytes, bytearray)): return 'b' + bytes(x).hex()
            if isinstance(x, list): return '[' + ','.join(render(i, p) for i in x) + ']'
            if isinstance(x, tuple): return '(' + ','.join(render(i, p) for i in x) + ')'
            if isinstance(x, (set, frozenset)): return '{' + ','.join(render(i, p) for i in x) + '}'
            if isinstance(x, dict): return '<' + ','.join(render(k, p) + ':' + render(v, p) for k, v in x.items()) + '>'
            raise TypeError(type(x))
        shared = {'k': [1, 2.5]}
        cyclic = [0]
        cyclic.append(cyclic)
        data = collections.OrderedDict([
            ('ints', [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**31, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**100, -2**100]),
            ('floats', [0.0, -0.0, 1e-7, 5e-05, 1.5, 1e300, float('inf'), -float('inf')]),
            ('strings', ['', 'a', 'ünïcödé ✓ 𝔘', 'x' * 300, 'new\\nline \\\\u0041 back\\\\slash']),
            ('bytes', [b'', b'\\x00\\xff', bytes(range(256)) * 2]),
            ('containers', [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], {}, {3, 4}, frozenset([5])]),
            ('shared', (shared, shared)), ('cyclic', cyclic),
            ('nested', {'a': {'b': {'c': [None, True, False]}}}),
            ('counter', collections.Counter([6, 8, 8])),
        ])
        sys.stdout.write(pickle.dumps(data, protocol=int(sys.argv[1])).hex() + '\\n' + render(data) + '\\n')
        """
        let lines = try Support.runPython(script, arguments: [String(protocolVersion)]).split(separator: "\n").map(String.init)
        try #require(lines.count == 2)
        let bytes = stride(from: 0, to: lines[0].count, by: 2).map { offset -> UInt8 in
            let start = lines[0].index(lines[0].startIndex, offsetBy: offset)
            return UInt8(lines[0][start..<lines[0].index(start, offsetBy: 2)], radix: 16) ?? 0
        }
        let decoded = try Self.decode(bytes)
        #expect(Self.render(decoded) == lines[1], "protocol \(protocolVersion)")
    }

    @Test("unknown globals are never called: os.system(...) becomes an opaque object")
    func neverExecutes() throws {
        // cos\nsystem\n ( S'...' ... : protocol 2: GLOBAL os.system, BINUNICODE, TUPLE1, REDUCE, STOP
        let command = Array("touch /tmp/referstream-pickle-was-executed".utf8)
        var bytes: [UInt8] = [0x80, 0x02, 0x63] + Array("os\nsystem\n".utf8)
        bytes += [0x58] + withUnsafeBytes(of: UInt32(command.count).littleEndian) { Array($0) } + command
        bytes += [0x85, 0x52, 0x2E]
        let value = try Self.decode(bytes)
        guard case .object(let object) = value else { Issue.record("got \(value.kindDescription)"); return }
        #expect(object.type == "os.system" && object.arguments.first?.stringValue == String(decoding: command, as: UTF8.self))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/referstream-pickle-was-executed"))
    }

    @Test("a memoised dict is shared: fetched after SETITEMS it holds the items")
    func memoSharesContainers() throws {
        // EMPTY_DICT BINPUT 0, BINUNICODE 'a', BININT1 1, SETITEM, POP, BINGET 0, STOP  — wait: keep it on stack
        let bytes: [UInt8] = [0x80, 0x02, 0x5D, 0x7D, 0x71, 0x00, 0x58, 1, 0, 0, 0, 0x61, 0x4B, 0x01, 0x73, 0x68, 0x00, 0x87 - 1, 0x61, 0x2E]
        // EMPTY_LIST; EMPTY_DICT; BINPUT 0; 'a'; 1; SETITEM; BINGET 0; TUPLE2; APPEND; STOP
        let value = try Self.decode(bytes)
        #expect(Self.render(value) == "[(<s61:1>,<s61:1>)]", "\(Self.render(value))")
    }

    static func failure(_ bytes: [UInt8]) -> CheckpointError? {
        do {
            _ = try decode(bytes)
            return nil
        } catch let error as CheckpointError {
            return error
        } catch {
            return nil
        }
    }

    @Test("malformed pickles are errors naming the file, never crashes")
    func malformed() {
        let cases: [(String, [UInt8], CheckpointError.Code)] = [
            ("empty", [], .truncated),
            ("no STOP", [0x80, 0x02, 0x4E], .truncated),
            ("unknown opcode", [0x80, 0x02, 0xFF, 0x2E], .invalidPickle),
            ("protocol 9", [0x80, 0x09, 0x4E, 0x2E], .invalidPickle),
            ("STOP on empty stack", [0x80, 0x02, 0x2E], .invalidPickle),
            ("APPEND with nothing", [0x80, 0x02, 0x61, 0x2E], .invalidPickle),
            ("APPEND to an int", [0x80, 0x02, 0x4B, 1, 0x4B, 2, 0x61, 0x2E], .invalidPickle),
            ("SETITEMS odd", [0x80, 0x02, 0x7D, 0x28, 0x4B, 1, 0x75, 0x2E], .invalidPickle),
            ("TUPLE without MARK", [0x80, 0x02, 0x4B, 1, 0x74, 0x2E], .invalidPickle),
            ("pop through a MARK", [0x80, 0x02, 0x4B, 1, 0x28, 0x85, 0x2E], .invalidPickle),
            ("BINGET never stored", [0x80, 0x02, 0x68, 0x05, 0x2E], .invalidPickle),
            ("LONG_BINGET never stored", [0x80, 0x02, 0x6A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E], .invalidPickle),
            ("BINUNICODE 4 GiB", [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x2E], .truncated),
            ("BINUNICODE8 2^64-1", [0x80, 0x04, 0x8D] + [UInt8](repeating: 0xFF, count: 8) + [0x2E], .truncated),
            ("LONG4 negative length", [0x80, 0x02, 0x8B, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E], .invalidPickle),
            ("GLOBAL without newline", [0x80, 0x02, 0x63] + Array("os".utf8), .truncated),
            ("STACK_GLOBAL of ints", [0x80, 0x04, 0x4B, 1, 0x4B, 2, 0x93, 0x2E], .invalidPickle),
        ]
        for (label, bytes, code) in cases {
            let error = Self.failure(bytes)
            #expect(error?.code == code && error?.file == "test.pkl", "\(label): \(String(describing: error))")
        }
    }

    @Test("exponentially shared references and very deep nesting are bounded errors")
    func bounded() throws {
        // x0 = []; x(i) = (x(i-1), x(i-1)) for 40 levels through the memo: 2^40 leaves if expanded.
        var doubling: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x30]
        for level in 1...40 {
            doubling += [0x68, UInt8(level - 1), 0x68, UInt8(level - 1), 0x86, 0x71, UInt8(level), 0x30]
        }
        doubling += [0x68, 40, 0x2E]
        #expect(Self.failure(doubling)?.message.contains("too many values") == true)

        // 50 000 nested lists: EMPTY_LIST × n, then APPEND × (n − 1).
        let depth = 50_000
        let nested: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2E]
        #expect(Self.failure(nested)?.message.contains("deeper") == true)

        // A list that contains itself decodes, with the back reference as .cycle.
        let cyclic: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        #expect(Self.render(try Self.decode(cyclic)) == "[...]")
    }

    @Test("LONG1 integers: sign extension, 64-bit bounds, big integers kept as bytes")
    func longIntegers() throws {
        func long1(_ digits: [UInt8]) throws -> PickleValue {
            try Self.decode([0x80, 0x02, 0x8A, UInt8(digits.count)] + digits + [0x2E])
        }
        #expect(try long1([]).intValue == 0)
        #expect(try long1([0xFF]).intValue == -1)
        #expect(try long1([0x80, 0x00]).intValue == 128)
        #expect(try long1([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]).intValue == Int.max)
        #expect(try long1([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80]).intValue == Int.min)
        #expect(Self.render(try long1([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00])) == "L000000000000008000")
        #expect(try long1([0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]).intValue == 5, "redundant zero bytes")
    }

    @Test("tensors: unsupported rebuild functions and storage classes are errors only where a tensor is needed")
    func unsupportedTensors() throws {
        // {'w': torch._utils._rebuild_qtensor(...)} as a state dict value.
        var bytes: [UInt8] = [0x80, 0x02, 0x7D, 0x58, 1, 0, 0, 0, 0x77, 0x63] + Array("torch._utils\n_rebuild_qtensor\n".utf8)
        bytes += [0x29, 0x52, 0x73, 0x2E]
        var machine = PickleMachine(file: "q.pth", context: "data.pkl")
        let (root, _) = try bytes.withUnsafeBytes { try machine.run($0) }
        var builder = TreeBuilder(machine: machine, file: "q.pth", pickleBytes: bytes.count) { key in
            throw CheckpointError(.missingStorage, file: "q.pth", key: key, "none")
        }
        guard case .dict(let dict)? = machine.node(root) else { Issue.record("not a dict"); return }
        do {
            _ = try builder.stateDictTensor(dict.entries[0].1, name: "w")
            Issue.record("a quantized tensor was accepted")
        } catch let error as CheckpointError {
            #expect(error.code == .unsupported && error.key == "w" && error.message.contains("_rebuild_qtensor"), "\(error)")
        }
        // Elsewhere in the tree it is just an unreadable tensor.
        let tree = try builder.convert(root)
        guard case .unreadableTensor(let reason)? = tree["w"] else { Issue.record("\(Self.render(tree))"); return }
        #expect(reason.contains("_rebuild_qtensor"))
    }
}

@Suite("Tensor rebuilding from hand-written pickles")
struct TensorRebuildTests {
    /// A tiny protocol-2 pickle assembler for hand-written cases.
    struct Assembler {
        var bytes: [UInt8] = [0x80, 0x02]
        mutating func string(_ text: String) { bytes += [0x58] + TestZipWriter.le32(text.utf8.count) + Array(text.utf8) }
        mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
        mutating func int(_ value: UInt8) { bytes += [0x4B, value] }
        mutating func mark() { bytes.append(0x28) }
        mutating func tuple() { bytes.append(0x74) }
        mutating func op(_ code: UInt8) { bytes.append(code) }
    }

    @Test("_rebuild_tensor (v1) over a legacy storage view (view_metadata) reads the right elements")
    func legacyStorageView() throws {
        var p = Assembler()
        p.global("torch._utils", "_rebuild_tensor")
        p.mark()
        // persistent id ('storage', torch.FloatStorage, 'root', 'cpu', 6, ('view', 2, 3))
        p.mark(); p.string("storage"); p.global("torch", "FloatStorage"); p.string("root"); p.string("cpu"); p.int(6)
        p.mark(); p.string("view"); p.int(2); p.int(3); p.tuple(); p.tuple(); p.op(0x51)
        p.int(1)  // storage offset (into the view)
        p.mark(); p.int(2); p.tuple()  // size
        p.mark(); p.int(1); p.tuple()  // stride
        p.tuple(); p.op(0x52); p.op(0x2E)
        var machine = PickleMachine(file: "v.pth", context: "main pickle")
        let (root, _) = try p.bytes.withUnsafeBytes { try machine.run($0) }
        let floats = (0..<6).map(Float.init)
        var builder = TreeBuilder(machine: machine, file: "v.pth", pickleBytes: p.bytes.count) { key in
            #expect(key == "root")
            return floats.withUnsafeBytes { StorageBytes(copying: $0) }
        }
        let record = try #require(try builder.stateDictTensor(root, name: "w"))
        #expect(record.storage.count == 12, "the view's 3 elements")
        #expect(try record.floats() == [3, 4])
    }

    @Test("a storage smaller than its persistent id's element count is an error naming the tensor")
    func shortStorage() throws {
        var p = Assembler()
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.mark()
        p.mark(); p.string("storage"); p.global("torch", "HalfStorage"); p.string("0"); p.string("cpu"); p.int(10); p.tuple(); p.op(0x51)
        p.int(0); p.mark(); p.int(10); p.tuple(); p.mark(); p.int(1); p.tuple(); p.op(0x89); p.op(0x4E)
        p.tuple(); p.op(0x52); p.op(0x2E)
        var machine = PickleMachine(file: "s.pth", context: "data.pkl")
        let (root, _) = try p.bytes.withUnsafeBytes { try machine.run($0) }
        var builder = TreeBuilder(machine: machine, file: "s.pth", pickleBytes: p.bytes.count) { _ in StorageBytes([UInt8](repeating: 0, count: 19)) }
        do {
            _ = try builder.stateDictTensor(root, name: "half")
            Issue.record("a short storage was accepted")
        } catch let error as CheckpointError {
            #expect(error.key == "half" && error.code == .invalidTensor && error.message.contains("19 bytes"), "\(error)")
        }
    }
}
