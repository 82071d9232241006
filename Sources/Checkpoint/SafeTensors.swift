import Foundation
import StrictJSON

/// A safetensors file (https://github.com/huggingface/safetensors format): an 8-byte little-endian
/// header length N, N bytes of JSON (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
/// {string: string}}`), then the data. The file is memory-mapped; every `TensorRecord` views the mapping
/// (zero copy), which stays mapped as long as any record or this value exists.
///
/// The header is validated completely before anything is returned: length within the file (and at most
/// 100 MB, the reference implementation's limit), strict JSON, known dtype names, non-negative shapes,
/// `data_offsets` ordered, inside the data section, `end − begin == numel × dtype size`, no two tensors
/// overlapping, and `__metadata__` a map of strings. Thread-safe: immutable.
public struct SafeTensors: Sendable {
    /// The file read.
    public let url: URL
    /// Tensor names in file order (by data offset; header order for ties).
    public let names: [String]
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// The tensors, in `names` order.
    public let tensors: [TensorRecord]
    private let index: [String: Int]

    /// Header lengths above this are rejected (the reference implementation's `MAX_HEADER_SIZE`).
    public static let maxHeaderLength = 100_000_000

    /// Maps and validates the file at `url`.
    /// - Throws: `CheckpointError` naming the file and, where relevant, the tensor and what is wrong.
    public init(contentsOf url: URL) throws {
        let file = url.path
        let owner = try ByteOwner.map(path: file)
        let whole = StorageBytes(owner: owner, offset: 0, count: owner.count)
        try self.init(url: url, bytes: whole)
    }

    init(url: URL, bytes whole: StorageBytes) throws {
        let file = url.path
        func header(_ message: String, key: String? = nil) -> CheckpointError {
            CheckpointError(.invalidHeader, file: file, key: key, message)
        }
        let fileSize = whole.count
        guard fileSize >= 8 else {
            throw CheckpointError(.truncated, file: file, "file of \(fileSize) bytes is too short for the 8-byte header length")
        }
        let head = whole.withUnsafeBytes { Array($0.prefix(64)) }
        if CheckpointFormat(head: head, fileSize: fileSize) != .safetensors {
            // No safetensors header (8-byte length, then `{`): say what the file is instead of decoding
            // its first bytes as an absurd header length.
            throw CheckpointError(.unrecognizedFormat, file: file, CheckpointFormat.notACheckpoint(head: head))
        }
        let declared = whole.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared <= UInt64(Self.maxHeaderLength) else {
            throw header("header length \(declared) exceeds the limit of \(Self.maxHeaderLength) bytes")
        }
        let headerLength = Int(declared)
        guard headerLength <= fileSize - 8 else {
            throw CheckpointError(.truncated, file: file,
                                  "header length \(headerLength) runs past the end of the file (\(fileSize) bytes)")
        }
        guard headerLength >= 2 else { throw header("header of \(headerLength) bytes cannot hold a JSON object") }
        let headerBytes = whole.withUnsafeBytes { Array($0[8..<(8 + headerLength)]) }
        let json: JSONNode
        do {
            json = try JSONReader.parse(headerBytes, options: .init(maximumDepth: 64, rejectsDuplicateKeys: true))
        } catch {
            throw header("header is not valid JSON: \(error.message) at header byte \(error.offset)")
        }
        guard case .object(let members) = json.value else { throw header("header is \(json.typeName), not a JSON object") }

        let dataStart = 8 + headerLength
        let dataLength = fileSize - dataStart
        var metadata: [String: String] = [:]
        struct Entry { var name: String; var dtype: DType; var shape: [Int]; var begin: Int; var end: Int; var order: Int }
        var entries: [Entry] = []
        entries.reserveCapacity(members.count)
        for member in members {
            let name = member.key, value = member.value
            if name == "__metadata__" {
                guard case .object(let pairs) = value.value else { throw header("__metadata__ is \(value.typeName), not an object of strings") }
                for pair in pairs {
                    let key = pair.key, item = pair.value
                    guard let text = item.stringValue else {
                        throw header("__metadata__ value is \(item.typeName), not a string", key: key)
                    }
                    metadata[key] = text
                }
                continue
            }
            guard case .object(let fields) = value.value else { throw header("entry is \(value.typeName), not an object", key: name) }
            var dtypeName: String?
            var shapeValue: JSONNode?
            var offsetsValue: JSONNode?
            for entry in fields {
                let field = entry.key, item = entry.value
                switch field {
                case "dtype":
                    guard let text = item.stringValue else { throw header("dtype is \(item.typeName), not a string", key: name) }
                    dtypeName = text
                case "shape": shapeValue = item
                case "data_offsets": offsetsValue = item
                default: break  // unknown fields are ignored, as by the reference implementation
                }
            }
            guard let dtypeName else { throw header("entry has no dtype", key: name) }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw header("unsupported dtype \"\(dtypeName)\" (supported: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))", key: name)
            }
            guard let shapeItems = shapeValue?.arrayValue else { throw header("entry has no shape array", key: name) }
            var shape: [Int] = []
            var count = 1
            for item in shapeItems {
                guard let size = item.intValue, size >= 0 else { throw header("shape must hold non-negative integers", key: name) }
                shape.append(size)
                let (product, overflow) = count.multipliedReportingOverflow(by: size)
                guard !overflow else { throw header("shape \(shape) has too many elements", key: name) }
                count = product
            }
            guard let offsetItems = offsetsValue?.arrayValue, offsetItems.count == 2,
                  let begin = offsetItems[0].intValue, let end = offsetItems[1].intValue else {
                throw header("data_offsets must be an array of two integers", key: name)
            }
            guard begin >= 0, begin <= end else { throw header("data_offsets [\(begin), \(end)] are not in order", key: name) }
            guard end <= dataLength else {
                throw CheckpointError(.truncated, file: file, key: name,
                                      "data_offsets [\(begin), \(end)] run past the end of the data section (\(dataLength) bytes)")
            }
            let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, end - begin == expected else {
                throw header("data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(count) × \(dtype.byteSize)", key: name)
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end, order: entries.count))
        }
        entries.sort { ($0.begin, $0.end, $0.order) < ($1.begin, $1.end, $1.order) }
        var previous: Entry?
        for entry in entries where entry.end > entry.begin {
            if let previous, entry.begin < previous.end {
                throw header("data_offsets [\(entry.begin), \(entry.end)] overlap '\(previous.name)' [\(previous.begin), \(previous.end)]", key: entry.name)
            }
            previous = entry
        }
        var tensors: [TensorRecord] = []
        tensors.reserveCapacity(entries.count)
        var index: [String: Int] = [:]
        for entry in entries {
            let storage = whole.slice((dataStart + entry.begin)..<(dataStart + entry.end))
            let record = try TensorRecord(name: entry.name, dtype: entry.dtype, shape: entry.shape,
                                          strides: TensorRecord.contiguousStrides(entry.shape), storageOffset: 0,
                                          storage: storage, file: file)
            index[entry.name] = tensors.count
            tensors.append(record)
        }
        self.url = url
        self.names = entries.map(\.name)
        self.metadata = metadata
        self.tensors = tensors
        self.index = index
    }

    /// The tensor called `name`, or nil.
    public subscript(name: String) -> TensorRecord? {
        index[name].map { tensors[$0] }
    }

    /// The tensor called `name`; throws `missingKey` naming the file when absent.
    public func tensor(_ name: String) throws -> TensorRecord {
        guard let record = self[name] else {
            throw CheckpointError(.missingKey, file: url.path, key: name, "no tensor of that name in the file")
        }
        return record
    }

    // MARK: Writer

    /// One tensor to write: its values as row-major bytes.
    public struct Item: Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var bytes: StorageBytes

        public init(name: String, dtype: DType, shape: [Int], bytes: StorageBytes) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.init(name: name, dtype: dtype, shape: shape, bytes: StorageBytes(bytes))
        }

        /// The values of `record` (zero copy when it is contiguous), under `name` (default: the record's).
        public init(_ record: TensorRecord, name: String? = nil) {
            let bytes: StorageBytes
            if record.byteCount == 0 {
                bytes = StorageBytes([])
            } else if record.isContiguous {
                let start = record.storageOffset * record.dtype.byteSize
                bytes = record.storage.slice(start..<(start + record.byteCount))
            } else {
                bytes = StorageBytes(record.contiguousBytes())
            }
            self.init(name: name ?? record.name, dtype: record.dtype, shape: record.shape, bytes: bytes)
        }
    }

    /// Writes a safetensors file readable by the reference `safetensors` package: the JSON header
    /// (`__metadata__` first when given, then the tensors) padded with spaces so that the data starts at
    /// a multiple of 8, and the data ordered by decreasing element size (8-, 4-, 2-, then 1-byte dtypes;
    /// the given order within each size), so that, as with the reference writer, every tensor starts at
    /// an offset that is a multiple of its element size and can be used in place from a mapping.
    /// Written to a temporary file in the same directory and renamed into place.
    /// - Throws: `invalidArgument` for duplicate or reserved names and byte counts that do not match the
    ///   shape; `io` when the file cannot be written.
    public static func write(_ items: [Item], metadata: [String: String]? = nil, to url: URL) throws {
        let layout = items.map { Layout(name: $0.name, dtype: $0.dtype, shape: $0.shape, byteCount: $0.bytes.count) }
        try writeStreaming(layout, metadata: metadata, to: url) { index, output in
            try items[index].bytes.withUnsafeBytes { try output.write($0) }
        }
    }

    /// What the header says about one tensor.
    struct Layout {
        var name: String
        var dtype: DType
        var shape: [Int]
        var byteCount: Int
    }

    /// Writes the header for `layout`, then calls `body(i, output)` to stream tensor `i`'s bytes, checking
    /// that it wrote exactly `layout[i].byteCount` bytes. Peak memory is whatever `body` needs.
    static func writeStreaming(_ layout: [Layout], metadata: [String: String]?, to url: URL,
                               _ body: (Int, inout FileOutput) throws -> Void) throws {
        // Stable sort by decreasing element size keeps every tensor aligned to its element size.
        let order = layout.indices.sorted { (-layout[$0].dtype.byteSize, $0) < (-layout[$1].dtype.byteSize, $1) }
        let header = try headerBytes(order.map { layout[$0] }, metadata: metadata, file: url.path)
        try FileOutput.writeAtomically(to: url) { output in
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try output.write($0) }
            try header.withUnsafeBytes { try output.write($0) }
            for index in order {
                let before = output.bytesWritten
                try body(index, &output)
                guard output.bytesWritten - before == layout[index].byteCount else {
                    throw CheckpointError(.invalidArgument, file: url.path, key: layout[index].name,
                                          "\(output.bytesWritten - before) bytes written, the header says \(layout[index].byteCount)")
                }
            }
        }
    }

    /// The header JSON, padded with spaces to a multiple of 8 bytes.
    static func headerBytes(_ items: [Layout], metadata: [String: String]?, file: String) throws -> [UInt8] {
        var parts: [String] = []
        if let metadata {
            let pairs = metadata.keys.sorted().map { "\(JSONString.quoted($0)):\(JSONString.quoted(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var seen = Set<String>()
        var offset = 0
        for item in items {
            guard item.name != "__metadata__" else {
                throw CheckpointError(.invalidArgument, file: file, key: item.name, "the name __metadata__ is reserved")
            }
            guard seen.insert(item.name).inserted else {
                throw CheckpointError(.invalidArgument, file: file, key: item.name, "duplicate tensor name")
            }
            var count = 1
            for size in item.shape {
                guard size >= 0 else { throw CheckpointError(.invalidArgument, file: file, key: item.name, "negative size in shape \(item.shape)") }
                let (product, overflow) = count.multipliedReportingOverflow(by: size)
                guard !overflow else { throw CheckpointError(.invalidArgument, file: file, key: item.name, "shape \(item.shape) too large") }
                count = product
            }
            guard count * item.dtype.byteSize == item.byteCount else {
                throw CheckpointError(.invalidArgument, file: file, key: item.name,
                                      "\(item.byteCount) bytes given, shape \(item.shape) of \(item.dtype.rawValue) needs \(count * item.dtype.byteSize)")
            }
            let end = offset + item.byteCount
            let shape = item.shape.map(String.init).joined(separator: ",")
            parts.append("\(JSONString.quoted(item.name)):{\"dtype\":\"\(item.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(parts.joined(separator: ","))}".utf8)
        let padding = (8 - header.count % 8) % 8
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        return header
    }
}
