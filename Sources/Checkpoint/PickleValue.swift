/// A value decoded from a pickle by `PyTorchCheckpoint`, as plain data: nothing in it was executed.
/// Python containers become arrays (dicts keep their insertion order), tensors become `TensorRecord`s,
/// and instances of classes the reader does not know become `.object` values that record the class
/// name, its constructor arguments and its state, so that `optimizer`, `lr_scheduler` or `args` can be
/// inspected or skipped.
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer beyond 64 bits: little-endian two's-complement bytes (pickle `LONG1`/`LONG4`).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case set([PickleValue])
    /// `dict`, `collections.OrderedDict` and `collections.Counter`, in insertion order.
    case dict([PickleDictEntry])
    /// A tensor rebuilt by `torch._utils._rebuild_tensor_v2` (or `_rebuild_tensor`, `_rebuild_parameter`).
    case tensor(TensorRecord)
    /// A tensor whose data cannot be read (missing storage, unsupported storage class, bad view). Reading
    /// it from the state dict throws; elsewhere (optimizer state) it can simply be skipped.
    case unreadableTensor(reason: String)
    /// A class or function reference (`GLOBAL`) that was never called.
    case global(String)
    /// An instance of a class this reader does not interpret (or `argparse.Namespace`).
    case object(PickleObject)
    /// A reference back to a container that encloses it (a cyclic pickle); not expanded.
    case cycle

    /// The value for string key `key` of a dict, or of an object's state dict (attributes of
    /// `argparse.Namespace` and other `BUILD`-initialised objects); nil otherwise.
    public subscript(key: String) -> PickleValue? {
        switch self {
        case .dict(let entries):
            return entries.first { if case .string(key) = $0.key { true } else { false } }?.value
        case .object(let object):
            return object.state?[key]
        default:
            return nil
        }
    }

    /// String keys of a dict (or of an object's state dict), in order.
    public var keys: [String] {
        switch self {
        case .dict(let entries):
            return entries.compactMap { if case .string(let key) = $0.key { key } else { nil } }
        case .object(let object):
            return object.state?.keys ?? []
        default:
            return []
        }
    }

    public var intValue: Int? { if case .int(let value) = self { value } else if case .bool(let flag) = self { flag ? 1 : 0 } else { nil } }
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    /// Floats, and ints converted to `Double`.
    public var doubleValue: Double? {
        switch self {
        case .float(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }
    /// Items of a list, tuple or set.
    public var arrayValue: [PickleValue]? {
        switch self {
        case .list(let items), .tuple(let items), .set(let items): items
        default: nil
        }
    }
    public var isNone: Bool { if case .none = self { true } else { false } }
    public var tensorValue: TensorRecord? { if case .tensor(let record) = self { record } else { nil } }

    /// A short description of the kind of value ("a dict", "an argparse.Namespace object", …).
    public var kindDescription: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int, .bigInt: "an int"
        case .float: "a float"
        case .string: "a str"
        case .bytes: "bytes"
        case .tuple: "a tuple"
        case .list: "a list"
        case .set: "a set"
        case .dict: "a dict"
        case .tensor: "a tensor"
        case .unreadableTensor: "an unreadable tensor"
        case .global(let name): "the global \(name)"
        case .object(let object): "a \(object.type) object"
        case .cycle: "a cyclic reference"
        }
    }
}

/// An instance of a class the reader does not interpret: what `NEWOBJ`/`REDUCE`/`BUILD` (and
/// `APPEND`/`SETITEM` on it) recorded. Nothing was called.
public struct PickleObject: Sendable {
    /// Fully qualified class or function name, e.g. `argparse.Namespace`, `torch.optim.adamw.AdamW`.
    public var type: String
    /// Constructor (or reducer) arguments.
    public var arguments: [PickleValue]
    /// The `BUILD` state (for most objects, a dict of attributes).
    public var state: PickleValue?
    /// Items appended to it (list subclasses).
    public var items: [PickleValue]
    /// Items set on it (dict subclasses).
    public var entries: [PickleDictEntry]
}

/// One key/value pair of a pickled dict. (A struct rather than a tuple: recursive enums over tuple
/// arrays trip a spurious "circular reference" error in the Swift 6.3 compiler.)
public struct PickleDictEntry: Sendable {
    public var key: PickleValue
    public var value: PickleValue

    public init(key: PickleValue, value: PickleValue) {
        self.key = key
        self.value = value
    }
}
