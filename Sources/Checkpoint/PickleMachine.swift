/// A safe pickle interpreter: it decodes the opcodes `torch.save` emits (protocol 2, see the golden
/// README §5) plus those of protocols 0–5 that other writers use for plain data (`TUPLE3`, `DICT`, `LIST`,
/// `LONG1`, `BINBYTES`, `SHORT_BINUNICODE`, `EMPTY_SET`/`ADDITEMS`, `FRAME`, `MEMOIZE`, `STACK_GLOBAL`, …).
/// It never imports or calls anything: `GLOBAL` yields a name; `REDUCE`/`NEWOBJ` on a known name
/// (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, …) build plain data, on any other name an
/// opaque object that records the name and arguments.
///
/// Containers live in an arena and values refer to them by index, so the memo shares mutable containers
/// exactly as Python does (a dict memoised before `SETITEMS` is the filled dict when fetched later),
/// destroying the machine never recurses, and cycles cannot leak.
struct PickleMachine {
    /// A value on the stack or in the memo: scalars inline, containers by arena index.
    enum Value {
        case none
        case bool(Bool)
        case int(Int)
        case bigInt([UInt8])
        case float(Double)
        case string(String)
        case bytes([UInt8])
        case node(Int)
    }

    /// A storage named by a persistent id `('storage', StorageClass, key, location, numel[, view])`.
    struct StorageRef {
        var key: String
        var typeName: String
        var dtype: DType?
        var numel: Int
        /// Legacy storage views (`view_metadata` = (view key, offset, size)): element range in the root.
        var view: (offset: Int, count: Int)?
    }

    struct TensorSpec {
        var storage: StorageRef
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    struct DictNode {
        var entries: [(Value, Value)] = []
        var stringIndex: [String: Int] = [:]

        mutating func set(_ key: Value, _ value: Value) {
            if case .string(let text) = key {
                if let index = stringIndex[text] {
                    entries[index].1 = value
                    return
                }
                stringIndex[text] = entries.count
            }
            entries.append((key, value))
        }
    }

    struct ObjectNode {
        var type: String
        var arguments: [Value]
        var state: Value?
        var items: [Value] = []
        var entries: [(Value, Value)] = []
    }

    enum Node {
        case empty
        case tuple([Value])
        case list([Value])
        case set([Value])
        case dict(DictNode)
        case global(String)
        case object(ObjectNode)
        case storage(StorageRef)
        case tensor(TensorSpec)
        case badTensor(String)
    }

    private(set) var arena: [Node] = []
    /// Every storage a persistent id named, by key (legacy files need their dtypes to find the data).
    private(set) var storages: [String: StorageRef] = [:]
    /// Storage keys in the order persistent ids first named them.
    private(set) var storageOrder: [String] = []

    private let file: String
    private let context: String
    private var stack: [Value] = []
    private var marks: [Int] = []
    private var memo: [Int: Value] = [:]
    private var position = 0
    private var opcodeStart = 0

    /// - Parameters: `file` and `context` (zip entry or pickle name) go into every error.
    init(file: String, context: String) {
        self.file = file
        self.context = context
    }

    func node(_ value: Value) -> Node? {
        if case .node(let index) = value { return arena[index] }
        return nil
    }

    // MARK: Errors

    private func failure(_ message: String) -> CheckpointError {
        CheckpointError(.invalidPickle, file: file, key: context, "\(message) (at pickle byte \(opcodeStart))")
    }

    // MARK: Running

    /// Runs one pickle that starts at byte `start` of `bytes`, up to and including its `STOP`.
    /// - Returns: the result and the offset just after `STOP`.
    mutating func run(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) throws -> (value: Value, end: Int) {
        stack.removeAll(keepingCapacity: true)
        marks.removeAll()
        memo.removeAll()
        position = start
        while true {
            opcodeStart = position
            let opcode = try byte(bytes)
            switch opcode {
            case 0x80:  // PROTO
                let version = try byte(bytes)
                guard version <= 5 else { throw failure("unsupported pickle protocol \(version)") }
            case 0x95:  // FRAME: the length only helps buffered readers
                _ = try fixed(bytes, 8)
            case 0x2E:  // STOP
                let result = try pop()
                return (result, position)
            case 0x28:  // MARK
                marks.append(stack.count)
            case 0x30:  // POP
                if let mark = marks.last, mark == stack.count {
                    marks.removeLast()  // popping an empty mark frame, as CPython does
                } else {
                    _ = try pop()
                }
            case 0x31:  // POP_MARK
                _ = try popMark()
            case 0x32:  // DUP
                stack.append(try top())

            // Scalars
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4A:  // BININT
                stack.append(.int(Int(Int32(bitPattern: UInt32(truncatingIfNeeded: try fixed(bytes, 4))))))
            case 0x4B:  // BININT1
                stack.append(.int(Int(try byte(bytes))))
            case 0x4D:  // BININT2
                stack.append(.int(Int(try fixed(bytes, 2))))
            case 0x8A:  // LONG1
                let count = Int(try byte(bytes))
                stack.append(integer(try slice(bytes, count)))
            case 0x8B:  // LONG4
                let count = Int(Int32(bitPattern: UInt32(try fixed(bytes, 4))))
                guard count >= 0 else { throw failure("LONG4 with negative length \(count)") }
                stack.append(integer(try slice(bytes, count)))
            case 0x47:  // BINFLOAT, big-endian
                stack.append(.float(Double(bitPattern: UInt64(bigEndian: try rawFixed(bytes, 8)))))
            case 0x49:  // INT (protocol 0): decimal line; "01"/"00" are True/False
                let line = try textLine(bytes)
                if line == "01" { stack.append(.bool(true)) } else if line == "00" { stack.append(.bool(false)) } else {
                    guard let value = Int(line) else { throw failure("INT with invalid text \"\(line)\"") }
                    stack.append(.int(value))
                }
            case 0x4C:  // LONG (protocol 0)
                var line = try textLine(bytes)
                if line.hasSuffix("L") { line.removeLast() }
                guard let value = decimalInteger(line) else { throw failure("LONG with invalid text \"\(line)\"") }
                stack.append(value)
            case 0x46:  // FLOAT (protocol 0)
                let line = try textLine(bytes)
                guard let value = Double(line) else { throw failure("FLOAT with invalid text \"\(line)\"") }
                stack.append(.float(value))

            // Strings and bytes
            case 0x56:  // UNICODE (protocol 0): raw-unicode-escape text up to a newline
                stack.append(.string(rawUnicodeEscape(try lineBytes(bytes))))
            case 0x58:  // BINUNICODE
                stack.append(.string(text(try slice(bytes, Int(try fixed(bytes, 4))))))
            case 0x8C:  // SHORT_BINUNICODE
                stack.append(.string(text(try slice(bytes, Int(try byte(bytes))))))
            case 0x8D:  // BINUNICODE8
                stack.append(.string(text(try slice(bytes, try length8(bytes)))))
            case 0x54:  // BINSTRING (Python 2 str; torch.load decodes these as UTF-8)
                let count = Int(Int32(bitPattern: UInt32(try fixed(bytes, 4))))
                guard count >= 0 else { throw failure("BINSTRING with negative length") }
                stack.append(.string(text(try slice(bytes, count))))
            case 0x55:  // SHORT_BINSTRING
                stack.append(.string(text(try slice(bytes, Int(try byte(bytes))))))
            case 0x42:  // BINBYTES
                stack.append(.bytes(Array(try slice(bytes, Int(try fixed(bytes, 4))))))
            case 0x43:  // SHORT_BINBYTES
                stack.append(.bytes(Array(try slice(bytes, Int(try byte(bytes))))))
            case 0x8E, 0x96:  // BINBYTES8, BYTEARRAY8
                stack.append(.bytes(Array(try slice(bytes, try length8(bytes)))))

            // Containers
            case 0x7D: stack.append(add(.dict(DictNode())))  // EMPTY_DICT
            case 0x5D: stack.append(add(.list([])))  // EMPTY_LIST
            case 0x29: stack.append(add(.tuple([])))  // EMPTY_TUPLE
            case 0x8F: stack.append(add(.set([])))  // EMPTY_SET
            case 0x74:  // TUPLE
                stack.append(add(.tuple(try popMark())))
            case 0x85:  // TUPLE1
                let a = try pop()
                stack.append(add(.tuple([a])))
            case 0x86:  // TUPLE2
                let b = try pop(), a = try pop()
                stack.append(add(.tuple([a, b])))
            case 0x87:  // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                stack.append(add(.tuple([a, b, c])))
            case 0x6C:  // LIST
                stack.append(add(.list(try popMark())))
            case 0x64:  // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw failure("DICT with an odd number of items") }
                var dict = DictNode()
                for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
                stack.append(add(.dict(dict)))
            case 0x91:  // FROZENSET
                stack.append(add(.set(try popMark())))
            case 0x61:  // APPEND
                let item = try pop()
                try append([item], to: try top())
            case 0x65:  // APPENDS
                let items = try popMark()
                try append(items, to: try top())
            case 0x90:  // ADDITEMS
                let items = try popMark()
                try append(items, to: try top())
            case 0x73:  // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value], on: try top())
            case 0x75:  // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw failure("SETITEMS with an odd number of items") }
                try setItems(items, on: try top())

            // Memo
            case 0x71:  // BINPUT
                memo[Int(try byte(bytes))] = try top()
            case 0x72:  // LONG_BINPUT
                memo[Int(try fixed(bytes, 4))] = try top()
            case 0x94:  // MEMOIZE
                memo[memo.count] = try top()
            case 0x70:  // PUT (protocol 0)
                let line = try textLine(bytes)
                guard let index = Int(line) else { throw failure("PUT with invalid index \"\(line)\"") }
                memo[index] = try top()
            case 0x68:  // BINGET
                stack.append(try memoValue(Int(try byte(bytes))))
            case 0x6A:  // LONG_BINGET
                stack.append(try memoValue(Int(try fixed(bytes, 4))))
            case 0x67:  // GET (protocol 0)
                let line = try textLine(bytes)
                guard let index = Int(line) else { throw failure("GET with invalid index \"\(line)\"") }
                stack.append(try memoValue(index))

            // Classes and calls: names only, never imported or called
            case 0x63:  // GLOBAL
                let module = try textLine(bytes)
                let name = try textLine(bytes)
                stack.append(add(.global("\(module).\(name)")))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let moduleName) = module, case .string(let itemName) = name else {
                    throw failure("STACK_GLOBAL needs two strings")
                }
                stack.append(add(.global("\(moduleName).\(itemName)")))
            case 0x52:  // REDUCE
                let arguments = try pop(), callable = try pop()
                stack.append(try reduce(callable, arguments))
            case 0x81:  // NEWOBJ
                let arguments = try pop(), cls = try pop()
                stack.append(try newObject(cls, arguments))
            case 0x92:  // NEWOBJ_EX
                _ = try pop()  // kwargs: recorded nowhere (no known class takes any)
                let arguments = try pop(), cls = try pop()
                stack.append(try newObject(cls, arguments))
            case 0x69:  // INST (protocol 0)
                let module = try textLine(bytes)
                let name = try textLine(bytes)
                let arguments = try popMark()
                stack.append(add(.object(ObjectNode(type: "\(module).\(name)", arguments: arguments))))
            case 0x6F:  // OBJ (protocol 1)
                var items = try popMark()
                guard !items.isEmpty else { throw failure("OBJ without a class") }
                let cls = items.removeFirst()
                stack.append(try newObject(cls, add(.tuple(items))))
            case 0x62:  // BUILD
                let state = try pop()
                try build(try top(), state)
            case 0x51:  // BINPERSID
                let pid = try pop()
                stack.append(try persistentLoad(pid))
            case 0x50:  // PERSID (protocol 0): an ASCII id, not used by torch
                let line = try textLine(bytes)
                stack.append(add(.object(ObjectNode(type: "persistent_id", arguments: [.string(line)]))))
            default:
                throw failure("unsupported or invalid opcode 0x\(String(opcode, radix: 16, uppercase: true))")
            }
        }
    }

    // MARK: Byte reading (bounds-checked; nothing is read past the buffer)

    private mutating func byte(_ bytes: UnsafeRawBufferPointer) throws -> UInt8 {
        guard position < bytes.count else { throw truncated() }
        defer { position += 1 }
        return bytes[position]
    }

    private func truncated() -> CheckpointError {
        CheckpointError(.truncated, file: file, key: context, "the pickle ends without STOP (at byte \(position))")
    }

    /// `count` (≤ 8) bytes as a little-endian unsigned integer.
    private mutating func fixed(_ bytes: UnsafeRawBufferPointer, _ count: Int) throws -> UInt64 {
        guard count <= bytes.count - position else { throw truncated() }
        var value: UInt64 = 0
        for i in (0..<count).reversed() { value = value << 8 | UInt64(bytes[position + i]) }
        position += count
        return value
    }

    /// 8 bytes in memory order (the caller applies the byte order).
    private mutating func rawFixed(_ bytes: UnsafeRawBufferPointer, _ count: Int) throws -> UInt64 {
        guard count <= bytes.count - position else { throw truncated() }
        defer { position += count }
        return bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)
    }

    private mutating func length8(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        let value = try fixed(bytes, 8)
        guard value <= UInt64(bytes.count - position) else { throw truncated() }
        return Int(value)
    }

    private mutating func slice(_ bytes: UnsafeRawBufferPointer, _ count: Int) throws -> UnsafeRawBufferPointer.SubSequence {
        guard count >= 0, count <= bytes.count - position else { throw truncated() }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// A protocol-0 argument line (up to `\n`), as text.
    private mutating func textLine(_ bytes: UnsafeRawBufferPointer) throws -> String {
        String(decoding: try lineBytes(bytes), as: UTF8.self)
    }

    private mutating func lineBytes(_ bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer.SubSequence {
        var end = position
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        guard end < bytes.count else { throw truncated() }
        defer { position = end + 1 }
        return bytes[position..<end]
    }

    /// Python's raw-unicode-escape: `\uXXXX` and `\UXXXXXXXX` escapes, every other byte is Latin-1.
    private func rawUnicodeEscape(_ line: UnsafeRawBufferPointer.SubSequence) -> String {
        let raw = Array(line)
        var scalars = String.UnicodeScalarView()
        var i = 0
        func hex(_ start: Int, _ count: Int) -> UInt32? {
            guard start + count <= raw.count else { return nil }
            var value: UInt32 = 0
            for b in raw[start..<(start + count)] {
                guard let digit = Character(Unicode.Scalar(b)).hexDigitValue else { return nil }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while i < raw.count {
            if raw[i] == 0x5C, i + 1 < raw.count, raw[i + 1] == 0x75 || raw[i + 1] == 0x55 {
                let width = raw[i + 1] == 0x75 ? 4 : 8
                if let value = hex(i + 2, width), let scalar = Unicode.Scalar(value) {
                    scalars.append(scalar)
                    i += 2 + width
                    continue
                }
            }
            scalars.append(Unicode.Scalar(raw[i]))
            i += 1
        }
        return String(scalars)
    }

    private func text(_ bytes: UnsafeRawBufferPointer.SubSequence) -> String {
        // Invalid UTF-8 (Python's surrogatepass) is replaced rather than rejected: keys stay readable.
        String(decoding: bytes, as: UTF8.self)
    }

    /// A little-endian two's-complement integer: `Int` when it fits, else `.bigInt`.
    private func integer(_ bytes: UnsafeRawBufferPointer.SubSequence) -> Value {
        let raw = Array(bytes)
        if raw.isEmpty { return .int(0) }
        let negative = raw[raw.count - 1] & 0x80 != 0
        var trimmed = raw
        while trimmed.count > 1, trimmed[trimmed.count - 1] == (negative ? 0xFF : 0x00),
              (trimmed[trimmed.count - 2] & 0x80 != 0) == negative {
            trimmed.removeLast()
        }
        guard trimmed.count <= 8 else { return .bigInt(trimmed) }
        var value: UInt64 = negative ? .max : 0
        for (i, b) in trimmed.enumerated() {
            value &= ~(UInt64(0xFF) << (8 * UInt64(i)))
            value |= UInt64(b) << (8 * UInt64(i))
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    /// A decimal integer of any size: `.int` when it fits, else two's-complement bytes for `.bigInt`.
    private func decimalInteger(_ text: String) -> Value? {
        if let value = Int(text) { return .int(value) }
        var digits = Substring(text)
        let negative = digits.hasPrefix("-")
        if negative || digits.hasPrefix("+") { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 10_000, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        var magnitude: [UInt8] = [0]  // little-endian base 256
        for character in digits.utf8 {
            var carry = Int(character - 0x30)
            for i in magnitude.indices {
                let value = Int(magnitude[i]) * 10 + carry
                magnitude[i] = UInt8(value & 0xFF)
                carry = value >> 8
            }
            while carry > 0 { magnitude.append(UInt8(carry & 0xFF)); carry >>= 8 }
        }
        magnitude.append(0)  // room for the sign bit
        if negative {
            var carry = 1
            for i in magnitude.indices {
                let value = Int(~magnitude[i]) + carry
                magnitude[i] = UInt8(value & 0xFF)
                carry = value >> 8
            }
        }
        return magnitude.withUnsafeBytes { integer($0[...]) }
    }

    // MARK: Stack

    private mutating func pop() throws -> Value {
        if let mark = marks.last, stack.count <= mark { throw failure("stack underflow (value expected above a MARK)") }
        guard let value = stack.popLast() else { throw failure("stack underflow") }
        return value
    }

    private func top() throws -> Value {
        if let mark = marks.last, stack.count <= mark { throw failure("stack underflow (value expected above a MARK)") }
        guard let value = stack.last else { throw failure("stack underflow") }
        return value
    }

    private mutating func popMark() throws -> [Value] {
        guard let mark = marks.popLast() else { throw failure("no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func memoValue(_ index: Int) throws -> Value {
        guard let value = memo[index] else { throw failure("memo index \(index) was never stored") }
        return value
    }

    private mutating func add(_ node: Node) -> Value {
        arena.append(node)
        return .node(arena.count - 1)
    }

    // Containers are mutated by moving the node out of the arena first (leaving `.empty`), so that its
    // arrays stay uniquely referenced and appends are amortised O(1) instead of copying.

    private mutating func append(_ items: [Value], to target: Value) throws {
        guard case .node(let index) = target else { throw failure("APPEND to a non-container") }
        let node = arena[index]
        arena[index] = .empty
        switch node {
        case .list(var list): list.append(contentsOf: items); arena[index] = .list(list)
        case .set(var set): set.append(contentsOf: items); arena[index] = .set(set)
        case .object(var object): object.items.append(contentsOf: items); arena[index] = .object(object)
        default:
            arena[index] = node
            throw failure("APPEND to a value that is not a list")
        }
    }

    private mutating func setItems(_ items: [Value], on target: Value) throws {
        guard case .node(let index) = target else { throw failure("SETITEM on a non-container") }
        let node = arena[index]
        arena[index] = .empty
        switch node {
        case .dict(var dict):
            for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
            arena[index] = .dict(dict)
        case .object(var object):
            for i in stride(from: 0, to: items.count, by: 2) { object.entries.append((items[i], items[i + 1])) }
            arena[index] = .object(object)
        default:
            arena[index] = node
            throw failure("SETITEM on a value that is not a dict")
        }
    }

    private func globalName(_ value: Value) -> String? {
        if case .global(let name)? = node(value) { return name }
        return nil
    }

    private func tupleItems(_ value: Value) -> [Value]? {
        switch node(value) {
        case .tuple(let items)?, .list(let items)?: items
        default: nil
        }
    }

    // MARK: Known callables (interpreted as data, never executed)

    private mutating func reduce(_ callable: Value, _ arguments: Value) throws -> Value {
        guard let name = globalName(callable) else {
            // Calling something that is not a global (e.g. a result of another REDUCE): keep it opaque.
            return add(.object(ObjectNode(type: "<call>", arguments: [callable] + (tupleItems(arguments) ?? [arguments]))))
        }
        let args = tupleItems(arguments) ?? []
        switch name {
        case "collections.OrderedDict", "builtins.dict", "__builtin__.dict", "collections.Counter":
            var dict = DictNode()
            if let first = args.first {
                switch node(first) {
                case .dict(let source)?:
                    for (key, value) in source.entries { dict.set(key, value) }
                case .list(let pairs)?, .tuple(let pairs)?:
                    for pair in pairs {
                        if let kv = tupleItems(pair), kv.count == 2 { dict.set(kv[0], kv[1]) }
                    }
                default: break
                }
            }
            return add(.dict(dict))
        case "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset":
            return add(.set(args.first.flatMap { tupleItems($0) } ?? []))
        case "builtins.list", "__builtin__.list":
            return add(.list(args.first.flatMap { tupleItems($0) } ?? []))
        case "builtins.tuple", "__builtin__.tuple", "torch.Size":
            return add(.tuple(args.first.flatMap { tupleItems($0) } ?? []))
        case "builtins.bytes", "__builtin__.bytes", "builtins.bytearray", "__builtin__.bytearray":
            // Protocol 2 pickles b'' as bytes(); non-empty bytes go through _codecs.encode.
            return args.isEmpty ? .bytes([]) : opaque(name, args)
        case "_codecs.encode":
            // Protocol 2 pickles bytes as _codecs.encode(str, 'latin1').
            if args.count == 2, case .string(let text) = args[0], case .string(let encoding) = args[1],
               ["latin1", "latin-1", "iso-8859-1"].contains(encoding.lowercased()) {
                var bytes: [UInt8] = []
                for scalar in text.unicodeScalars {
                    guard scalar.value < 256 else { return opaque(name, args) }
                    bytes.append(UInt8(scalar.value))
                }
                return .bytes(bytes)
            }
            return opaque(name, args)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            return add(rebuildTensor(args, function: name))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            // Parameter(data, requires_grad, hooks[, state]): the data tensor is all a reader needs.
            if let first = args.first, case .tensor? = node(first) { return first }
            if let first = args.first, case .badTensor? = node(first) { return first }
            return add(.badTensor("\(name) without a tensor argument"))
        default:
            if name.hasPrefix("torch._utils._rebuild") {
                // Quantized, sparse, nested, meta, wrapper-subclass tensors: not plain dense data.
                return add(.badTensor("tensors rebuilt by \(name) are not supported"))
            }
            return opaque(name, args)
        }
    }

    private mutating func opaque(_ type: String, _ arguments: [Value]) -> Value {
        add(.object(ObjectNode(type: type, arguments: arguments)))
    }

    private mutating func newObject(_ cls: Value, _ arguments: Value) throws -> Value {
        let name = globalName(cls) ?? "<class>"
        let args = tupleItems(arguments) ?? []
        if name == "collections.OrderedDict" || name == "collections.Counter" || name == "builtins.dict" {
            return add(.dict(DictNode()))
        }
        return opaque(name, args)
    }

    private mutating func build(_ target: Value, _ state: Value) throws {
        guard case .node(let index) = target else { return }  // BUILD on a scalar: nothing to record
        // OrderedDict state (`_metadata`) and tensor state are ignored, as a weights reader may.
        guard case .object(var object) = arena[index] else { return }
        arena[index] = .empty
        object.state = state
        arena[index] = .object(object)
    }

    private func int(_ value: Value) -> Int? {
        if case .int(let number) = value { return number }
        return nil
    }

    private func ints(_ value: Value) -> [Int]? {
        guard let items = tupleItems(value) else { return nil }
        var result: [Int] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let number = int(item) else { return nil }
            result.append(number)
        }
        return result
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`
    /// and `_rebuild_tensor(storage, storage_offset, size, stride)`.
    private func rebuildTensor(_ args: [Value], function: String) -> Node {
        guard args.count >= 4 else { return .badTensor("\(function) with \(args.count) arguments") }
        guard case .storage(let storage)? = node(args[0]) else {
            return .badTensor("\(function): the first argument is not a storage")
        }
        guard let offset = int(args[1]), let shape = ints(args[2]), let strides = ints(args[3]) else {
            return .badTensor("\(function): offset, size or stride is not made of integers")
        }
        return .tensor(TensorSpec(storage: storage, offset: offset, shape: shape, strides: strides))
    }

    /// `persistent_load` of torch: `('storage', StorageClass, key, location, numel[, view_metadata])`.
    private mutating func persistentLoad(_ pid: Value) throws -> Value {
        guard let items = tupleItems(pid), items.count >= 5, case .string("storage") = items[0] else {
            return opaque("persistent_id", tupleItems(pid) ?? [pid])
        }
        guard let typeName = globalName(items[1]) else { throw failure("persistent id without a storage class") }
        let key: String
        switch items[2] {
        case .string(let text): key = text
        case .int(let number): key = String(number)
        default: throw failure("persistent id with a storage key that is not a string")
        }
        guard let numel = int(items[4]), numel >= 0 else { throw failure("persistent id for storage \(key) without a size") }
        var ref = StorageRef(key: key, typeName: typeName, dtype: DType(torchStorageClass: typeName), numel: numel, view: nil)
        if items.count >= 6, let view = tupleItems(items[5]), view.count == 3 {
            guard let offset = int(view[1]), let count = int(view[2]), offset >= 0, count >= 0 else {
                throw failure("storage view of \(key) with an invalid range")
            }
            ref.view = (offset, count)
        }
        if storages[key] == nil {
            storages[key] = ref
            storageOrder.append(key)
        }
        return add(.storage(ref))
    }
}
