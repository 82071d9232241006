import Foundation

/// A PyTorch checkpoint (`torch.save` output) read in pure Swift, without executing anything: the zip
/// format (the default since torch 1.6) and the legacy format (`_use_new_zipfile_serialization=False`,
/// which the released ReferFormer checkpoints use). See the golden README §5 for both layouts.
///
/// The file is memory-mapped and tensor storages are slices of the mapping (zero copy) in both formats.
/// The state dict is the top-level dict's `model` entry (or `state_dict`), or the top-level dict itself;
/// its tensors are `tensors`, in file order, and every other value of the file (optimizer state, `epoch`,
/// `args`, …) is available, as plain data, in `root`. Tensors that share a PyTorch storage share bytes.
/// Immutable and thread-safe.
public struct PyTorchCheckpoint: Sendable {
    public enum Format: String, Sendable {
        /// `torch.save` default: a zip archive with `<stem>/data.pkl` and `<stem>/data/<key>` entries.
        case zip
        /// `_use_new_zipfile_serialization=False`: five pickles back to back, then the raw storages.
        case legacy
    }

    public let url: URL
    public let format: Format
    /// The whole unpickled object.
    public let root: PickleValue
    /// `"model"` or `"state_dict"` when the state dict is that entry of the top-level dict; nil when
    /// the top-level dict is the state dict.
    public let stateDictKey: String?
    /// The state dict's tensors, in order, each named by its key.
    public let tensors: [TensorRecord]
    /// State-dict keys whose values are not tensors (skipped).
    public let skippedEntries: [String]
    private let index: [String: Int]

    /// Magic number the legacy format starts with (`torch.serialization.MAGIC_NUMBER`).
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// State-dict key names, in order.
    public var names: [String] { tensors.map(\.name) }

    /// The state-dict tensor `name`, or nil.
    public subscript(name: String) -> TensorRecord? {
        index[name].map { tensors[$0] }
    }

    /// The state-dict tensor `name`; throws `missingKey` naming the file when absent.
    public func tensor(_ name: String) throws -> TensorRecord {
        guard let record = self[name] else {
            throw CheckpointError(.missingKey, file: url.path, key: name, "no tensor of that name in the state dict")
        }
        return record
    }

    /// Maps and parses the checkpoint at `url`.
    /// - Throws: `CheckpointError` naming the file and what is wrong (truncated file, corrupt zip or
    ///   pickle, a state-dict tensor whose storage is missing or whose view does not fit it, …).
    public init(contentsOf url: URL) throws {
        let file = url.path
        let owner = try ByteOwner.map(path: file)
        let whole = StorageBytes(owner: owner, offset: 0, count: owner.count)
        let isZip = whole.withUnsafeBytes { raw in
            raw.count >= 4 && raw[0] == 0x50 && raw[1] == 0x4B && (raw[2] == 0x03 || raw[2] == 0x05) && (raw[3] == 0x04 || raw[3] == 0x06)
        }
        let loaded = isZip ? try Self.loadZip(whole, file: file) : try Self.loadLegacy(whole, file: file)
        var builder = TreeBuilder(machine: loaded.machine, file: file, pickleBytes: loaded.pickleBytes, resolve: loaded.resolve)

        // The state dict, with errors thrown (not deferred) for its tensors.
        guard case .dict(let top)? = loaded.machine.node(loaded.root) else {
            throw CheckpointError(.unsupported, file: file,
                                  "the top-level object is \(builder.kind(loaded.root)), not a dict (state dict or {'model': state dict, …})")
        }
        var stateDict = top
        var stateDictKey: String?
        for candidate in ["model", "state_dict"] {
            guard let position = top.stringIndex[candidate] else { continue }
            let value = top.entries[position].1
            guard case .dict(let inner)? = loaded.machine.node(value) else {
                throw CheckpointError(.unsupported, file: file, key: candidate,
                                      "is \(builder.kind(value)), not a state dict (saving whole modules is not supported)")
            }
            stateDict = inner
            stateDictKey = candidate
            break
        }
        var tensors: [TensorRecord] = []
        var skipped: [String] = []
        var index: [String: Int] = [:]
        for (key, value) in stateDict.entries {
            guard case .string(let name) = key else { continue }
            guard let record = try builder.stateDictTensor(value, name: name) else {
                skipped.append(name)
                continue
            }
            index[name] = tensors.count
            tensors.append(record)
        }
        self.url = url
        self.format = isZip ? .zip : .legacy
        self.root = try builder.convert(loaded.root)
        self.stateDictKey = stateDictKey
        self.tensors = tensors
        self.skippedEntries = skipped
        self.index = index
    }

    /// A top-level entry of the checkpoint (`epoch`, `args`, `optimizer`, …), or nil.
    public func value(_ key: String) -> PickleValue? {
        root[key]
    }

    // MARK: Formats

    struct Loaded {
        var machine: PickleMachine
        var root: PickleMachine.Value
        var pickleBytes: Int
        /// Root storage bytes by key; throws `missingStorage` (or a zip error) naming the key.
        var resolve: (String) throws -> StorageBytes
    }

    private static func loadZip(_ whole: StorageBytes, file: String) throws -> Loaded {
        let archive = try ZipArchive(bytes: whole, file: file)
        let candidates = archive.entries.filter { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
        guard let pickleEntry = candidates.min(by: { $0.name.count < $1.name.count }) else {
            throw CheckpointError(.invalidZip, file: file, "the archive has no <name>/data.pkl entry: not a torch.save file")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if let order = archive.entry(named: prefix + "byteorder") {
            let text = try archive.data(of: order).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            guard text.trimmingCharacters(in: .whitespacesAndNewlines) == "little" else {
                throw CheckpointError(.unsupported, file: file, key: order.name, "byte order \"\(text)\" (only little-endian is supported)")
            }
        }
        let pickle = try archive.data(of: pickleEntry)
        var machine = PickleMachine(file: file, context: pickleEntry.name)
        let root = try pickle.withUnsafeBytes { try machine.run($0).value }
        return Loaded(machine: machine, root: root, pickleBytes: pickle.count) { key in
            let name = prefix + "data/" + key
            guard let entry = archive.entry(named: name) else {
                throw CheckpointError(.missingStorage, file: file, key: name, "storage \(key) is not in the archive")
            }
            return try archive.data(of: entry)
        }
    }

    private static func loadLegacy(_ whole: StorageBytes, file: String) throws -> Loaded {
        try whole.withUnsafeBytes { raw in
            guard raw.count > 0, raw[0] == 0x80 else {
                throw CheckpointError(.invalidPickle, file: file, "neither a zip archive nor a pickle: not a PyTorch checkpoint")
            }
            var header = PickleMachine(file: file, context: "magic number pickle")
            let (magic, afterMagic) = try header.run(raw)
            guard case .bigInt(let digits) = magic, digits == legacyMagic else {
                throw CheckpointError(.invalidPickle, file: file, key: "magic number pickle",
                                      "the file does not start with torch's magic number 0x1950a86a20f9469cfc6c")
            }
            header = PickleMachine(file: file, context: "protocol version pickle")
            let (protocolVersion, afterProtocol) = try header.run(raw, from: afterMagic)
            guard case .int(1001) = protocolVersion else {
                throw CheckpointError(.unsupported, file: file, key: "protocol version pickle", "legacy protocol version is not 1001")
            }
            header = PickleMachine(file: file, context: "sys_info pickle")
            let (sysInfo, afterSysInfo) = try header.run(raw, from: afterProtocol)
            if case .dict(let info)? = header.node(sysInfo), let position = info.stringIndex["little_endian"],
               case .bool(false) = info.entries[position].1 {
                throw CheckpointError(.unsupported, file: file, key: "sys_info pickle", "big-endian checkpoints are not supported")
            }
            let mainStart = afterSysInfo
            var machine = PickleMachine(file: file, context: "main pickle")
            let (root, afterMain) = try machine.run(raw, from: mainStart)
            var keyMachine = PickleMachine(file: file, context: "storage key list pickle")
            let (keyList, afterKeys) = try keyMachine.run(raw, from: afterMain)
            guard case .list(let keyValues)? = keyMachine.node(keyList) else {
                throw CheckpointError(.invalidPickle, file: file, key: "storage key list pickle", "is not a list")
            }
            // The raw storages follow, in key-list order: an 8-byte little-endian element count, then
            // count × element size bytes. Their element sizes come from the persistent ids of the main pickle.
            var storages: [String: StorageBytes] = [:]
            var cursor = afterKeys
            for value in keyValues {
                guard case .string(let key) = value else {
                    throw CheckpointError(.invalidPickle, file: file, key: "storage key list pickle", "holds a non-string key")
                }
                guard let ref = machine.storages[key] else {
                    throw CheckpointError(.invalidPickle, file: file, key: key, "storage in the key list is not referenced by the main pickle")
                }
                let elementSize = ref.dtype?.byteSize ?? 1
                guard cursor <= raw.count - 8 else {
                    throw CheckpointError(.truncated, file: file, key: key, "file ends before the size of storage \(key) (byte \(cursor))")
                }
                let count = raw.loadUnaligned(fromByteOffset: cursor, as: UInt64.self).littleEndian
                cursor += 8
                guard ref.dtype != nil || count == 0 else {
                    throw CheckpointError(.unsupported, file: file, key: key, "storage class \(ref.typeName) is not supported")
                }
                let (byteCount, overflow) = count.multipliedReportingOverflow(by: UInt64(elementSize))
                guard !overflow, byteCount <= UInt64(raw.count - cursor) else {
                    throw CheckpointError(.truncated, file: file, key: key,
                                          "storage \(key) of \(count) elements runs past the end of the file (\(raw.count) bytes)")
                }
                storages[key] = whole.slice(cursor..<(cursor + Int(byteCount)))
                cursor += Int(byteCount)
            }
            return Loaded(machine: machine, root: root, pickleBytes: afterMain - mainStart) { key in
                guard let bytes = storages[key] else {
                    throw CheckpointError(.missingStorage, file: file, key: key, "storage \(key) is not in the file's storage list")
                }
                return bytes
            }
        }
    }
}
