/// Turns the pickle machine's arena into `PickleValue`s and `TensorRecord`s, resolving storages once
/// per key (so tensors sharing a storage share its bytes). Bounded: nesting depth and total number of
/// values produced are limited, so a small hostile pickle cannot expand shared references
/// exponentially or recurse without end; cycles become `.cycle`.
struct TreeBuilder {
    let machine: PickleMachine
    let file: String
    let resolve: (String) throws -> StorageBytes
    private var cache: [String: Result<StorageBytes, CheckpointError>] = [:]
    private var budget: Int
    private var onPath = Set<Int>()
    static let maxDepth = 400

    /// - Parameter budget: most values the tree may expand to; default 4 000 000 + 64 per pickle byte
    ///   (a real checkpoint's tree is a few values per pickle byte).
    init(machine: PickleMachine, file: String, pickleBytes: Int, budget: Int? = nil,
         resolve: @escaping (String) throws -> StorageBytes) {
        self.machine = machine
        self.file = file
        self.resolve = resolve
        self.budget = budget ?? 4_000_000 + 64 * pickleBytes
    }

    func kind(_ value: PickleMachine.Value) -> String {
        switch value {
        case .none: return "None"
        case .bool: return "a bool"
        case .int, .bigInt: return "an int"
        case .float: return "a float"
        case .string: return "a str"
        case .bytes: return "bytes"
        case .node(let index):
            switch machine.arena[index] {
            case .tuple: return "a tuple"
            case .list: return "a list"
            case .set: return "a set"
            case .dict: return "a dict"
            case .global(let name): return "the global \(name)"
            case .object(let object): return "a \(object.type) object"
            case .storage: return "a storage"
            case .tensor, .badTensor: return "a tensor"
            case .empty: return "nothing"
            }
        }
    }

    /// The bytes of a storage (or storage view), checked against its element count.
    private mutating func storageBytes(_ ref: PickleMachine.StorageRef, for name: String) throws -> StorageBytes {
        guard let dtype = ref.dtype else {
            throw CheckpointError(.unsupported, file: file, key: name, "storage class \(ref.typeName) is not supported")
        }
        let root: StorageBytes
        switch cache[ref.key] {
        case .success(let bytes)?: root = bytes
        case .failure(let error)?: throw error
        case nil:
            do {
                let bytes: StorageBytes
                do {
                    bytes = try resolve(ref.key)
                } catch let error as CheckpointError {
                    // Name the tensor that needs the storage; the message names the storage entry.
                    throw CheckpointError(error.code, file: file, key: name,
                                          error.key.map { "'\($0)': \(error.message)" } ?? error.message)
                }
                let (needed, overflow) = ref.numel.multipliedReportingOverflow(by: dtype.byteSize)
                guard !overflow, needed <= bytes.count else {
                    throw CheckpointError(.invalidTensor, file: file, key: name,
                                          "storage \(ref.key) holds \(bytes.count) bytes, fewer than its \(ref.numel) \(dtype.rawValue) elements")
                }
                root = bytes.slice(0..<needed)
                cache[ref.key] = .success(root)
            } catch let error as CheckpointError {
                cache[ref.key] = .failure(error)
                throw error
            }
        }
        guard let view = ref.view else { return root }
        let start = view.offset * dtype.byteSize
        let (count, overflow) = view.count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, start <= root.count, count <= root.count - start else {
            throw CheckpointError(.invalidTensor, file: file, key: name, "storage view [\(view.offset), +\(view.count)) is outside storage \(ref.key)")
        }
        return root.slice(start..<(start + count))
    }

    private mutating func record(_ spec: PickleMachine.TensorSpec, name: String) throws -> TensorRecord {
        let bytes = try storageBytes(spec.storage, for: name)
        guard let dtype = spec.storage.dtype else {
            throw CheckpointError(.unsupported, file: file, key: name, "storage class \(spec.storage.typeName) is not supported")
        }
        return try TensorRecord(name: name, dtype: dtype, shape: spec.shape, strides: spec.strides,
                                storageOffset: spec.offset, storage: bytes, file: file)
    }

    /// A state-dict value: its tensor, nil when it is not a tensor, or a thrown error naming the key.
    mutating func stateDictTensor(_ value: PickleMachine.Value, name: String) throws -> TensorRecord? {
        guard case .node(let index) = value else { return nil }
        switch machine.arena[index] {
        case .tensor(let spec):
            return try record(spec, name: name)
        case .badTensor(let reason):
            throw CheckpointError(.unsupported, file: file, key: name, reason)
        default:
            return nil
        }
    }

    mutating func convert(_ value: PickleMachine.Value) throws -> PickleValue {
        try convert(value, depth: 0)
    }

    private mutating func convert(_ value: PickleMachine.Value, depth: Int) throws -> PickleValue {
        budget -= 1
        guard budget >= 0 else {
            throw CheckpointError(.invalidPickle, file: file, "the pickle expands to too many values (shared references)")
        }
        guard depth < Self.maxDepth else {
            throw CheckpointError(.invalidPickle, file: file, "the pickle nests deeper than \(Self.maxDepth) levels")
        }
        switch value {
        case .none: return .none
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .bigInt(let digits): return .bigInt(digits)
        case .float(let number): return .float(number)
        case .string(let text): return .string(text)
        case .bytes(let bytes): return .bytes(bytes)
        case .node(let index):
            if onPath.contains(index) { return .cycle }
            onPath.insert(index)
            defer { onPath.remove(index) }
            func items(_ values: [PickleMachine.Value]) throws -> [PickleValue] {
                var result: [PickleValue] = []
                result.reserveCapacity(values.count)
                for item in values { result.append(try convert(item, depth: depth + 1)) }
                return result
            }
            func entries(_ pairs: [(PickleMachine.Value, PickleMachine.Value)]) throws -> [PickleDictEntry] {
                var result: [PickleDictEntry] = []
                result.reserveCapacity(pairs.count)
                for (key, item) in pairs {
                    result.append(PickleDictEntry(key: try convert(key, depth: depth + 1), value: try convert(item, depth: depth + 1)))
                }
                return result
            }
            switch machine.arena[index] {
            case .empty: return .none
            case .tuple(let values): return .tuple(try items(values))
            case .list(let values): return .list(try items(values))
            case .set(let values): return .set(try items(values))
            case .dict(let dict): return .dict(try entries(dict.entries))
            case .global(let name): return .global(name)
            case .object(let object):
                return .object(PickleObject(type: object.type, arguments: try items(object.arguments),
                                            state: try object.state.map { try convert($0, depth: depth + 1) },
                                            items: try items(object.items), entries: try entries(object.entries)))
            case .storage(let ref):
                return .object(PickleObject(type: ref.typeName, arguments: [.string(ref.key), .int(ref.numel)], state: nil, items: [], entries: []))
            case .tensor(let spec):
                do {
                    return .tensor(try record(spec, name: ""))
                } catch let error as CheckpointError {
                    return .unreadableTensor(reason: error.message)
                }
            case .badTensor(let reason):
                return .unreadableTensor(reason: reason)
            }
        }
    }
}
