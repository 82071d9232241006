/// The central directory of a zip archive held in memory (the mapped `.pth` file), enough to locate the
/// *stored* entries `torch.save` writes. Sizes come from the central directory because PyTorch's
/// writer sets general-purpose flag bit 3 and leaves zeros in the local headers; the data of an entry
/// starts after the local header, its name and its *local* extra field (which PyTorch uses to pad data to
/// 64 bytes and which differs from the central directory's extra field). Zip64 sizes and offsets are
/// read from the zip64 end record and extra fields. Every read is bounds-checked.
struct ZipArchive {
    struct Entry {
        var name: String
        var method: UInt16
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    let entries: [Entry]
    private let index: [String: Int]
    private let bytes: StorageBytes
    private let file: String

    init(bytes: StorageBytes, file: String) throws {
        self.bytes = bytes
        self.file = file
        func fail(_ message: String, _ code: CheckpointError.Code = .invalidZip) -> CheckpointError {
            CheckpointError(code, file: file, message)
        }
        let entries: [Entry] = try bytes.withUnsafeBytes { raw in
            let count = raw.count
            func u16(_ at: Int) -> Int { Int(raw[at]) | Int(raw[at + 1]) << 8 }
            func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
            func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
            func int64(_ at: Int, _ what: String) throws -> Int {
                let value = u64(at)
                guard value <= UInt64(count) else { throw fail("\(what) \(value) is beyond the end of the file") }
                return Int(value)
            }

            // End of central directory: the last "PK\5\6" within the final 22 + 65535 bytes.
            guard count >= 22 else { throw fail("the zip archive is truncated (\(count) bytes, no end record)", .truncated) }
            var eocd = -1
            var at = count - 22
            let lowest = max(0, count - 22 - 65_535)
            while at >= lowest {
                if raw[at] == 0x50, raw[at + 1] == 0x4B, raw[at + 2] == 0x05, raw[at + 3] == 0x06 { eocd = at; break }
                at -= 1
            }
            guard eocd >= 0 else { throw fail("no end-of-central-directory record: the zip archive is truncated or corrupt", .truncated) }
            var total = u16(eocd + 10)
            var directorySize = u32(eocd + 12)
            var directoryOffset = u32(eocd + 16)
            if total == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
                // Zip64: the locator sits right before the end record.
                let locator = eocd - 20
                guard locator >= 0, u32(locator) == 0x0706_4B50 else { throw fail("zip64 end-of-central-directory locator missing") }
                let record = try int64(locator + 8, "zip64 end record offset")
                guard record <= count - 56, u32(record) == 0x0606_4B50 else { throw fail("zip64 end-of-central-directory record missing") }
                total = try int64(record + 32, "zip64 entry count")
                directorySize = try int64(record + 40, "zip64 central directory size")
                directoryOffset = try int64(record + 48, "zip64 central directory offset")
            }
            guard directoryOffset <= count, directorySize <= count - directoryOffset else {
                throw fail("central directory (offset \(directoryOffset), \(directorySize) bytes) runs past the end of the file", .truncated)
            }
            guard total <= directorySize / 46 else { throw fail("central directory too small for \(total) entries") }
            var entries: [Entry] = []
            entries.reserveCapacity(total)
            var cursor = directoryOffset
            let end = directoryOffset + directorySize
            for number in 0..<total {
                guard cursor <= end - 46, u32(cursor) == 0x0201_4B50 else { throw fail("central directory entry \(number) is corrupt") }
                let method = UInt16(u16(cursor + 10))
                var compressed = u32(cursor + 20)
                var size = u32(cursor + 24)
                let nameLength = u16(cursor + 28)
                let extraLength = u16(cursor + 30)
                let commentLength = u16(cursor + 32)
                var localOffset = u32(cursor + 42)
                let nameStart = cursor + 46
                guard nameLength + extraLength + commentLength <= end - nameStart else {
                    throw fail("central directory entry \(number) runs past the directory")
                }
                let name = String(decoding: raw[nameStart..<(nameStart + nameLength)], as: UTF8.self)
                // Zip64 extended information (id 1): only the fields that are saturated, in this order.
                var extra = nameStart + nameLength
                let extraEnd = extra + extraLength
                while extra + 4 <= extraEnd {
                    let id = u16(extra), length = u16(extra + 2)
                    let body = extra + 4
                    guard length <= extraEnd - body else { break }
                    if id == 1 {
                        var field = body
                        func next(_ what: String) throws -> Int {
                            guard field + 8 <= body + length else { throw fail("zip64 extra field of '\(name)' is too short") }
                            defer { field += 8 }
                            return try int64(field, what)
                        }
                        if size == 0xFFFF_FFFF { size = try next("size") }
                        if compressed == 0xFFFF_FFFF { compressed = try next("compressed size") }
                        if localOffset == 0xFFFF_FFFF { localOffset = try next("local header offset") }
                    }
                    extra = body + length
                }
                entries.append(Entry(name: name, method: method, compressedSize: compressed, size: size, localHeaderOffset: localOffset))
                cursor = extraEnd + commentLength
            }
            return entries
        }
        var index: [String: Int] = [:]
        for (position, entry) in entries.enumerated() where index[entry.name] == nil { index[entry.name] = position }
        self.entries = entries
        self.index = index
    }

    func entry(named name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// The bytes of a stored entry, as a slice of the archive (no copy).
    func data(of entry: Entry) throws -> StorageBytes {
        func fail(_ message: String, _ code: CheckpointError.Code = .invalidZip) -> CheckpointError {
            CheckpointError(code, file: file, key: entry.name, message)
        }
        guard entry.method == 0 else {
            throw fail("entry is compressed (method \(entry.method)); only stored entries are supported, as torch.save writes", .unsupported)
        }
        guard entry.compressedSize == entry.size else { throw fail("stored entry with different sizes \(entry.compressedSize) and \(entry.size)") }
        let start: Int = try bytes.withUnsafeBytes { raw in
            let at = entry.localHeaderOffset
            guard at >= 0, at <= raw.count - 30 else { throw fail("local header offset \(at) is beyond the end of the file", .truncated) }
            guard raw[at] == 0x50, raw[at + 1] == 0x4B, raw[at + 2] == 0x03, raw[at + 3] == 0x04 else {
                throw fail("no local header at offset \(at)")
            }
            let nameLength = Int(raw[at + 26]) | Int(raw[at + 27]) << 8
            let extraLength = Int(raw[at + 28]) | Int(raw[at + 29]) << 8
            return at + 30 + nameLength + extraLength
        }
        guard start <= bytes.count, entry.size <= bytes.count - start else {
            throw fail("data (\(entry.size) bytes at offset \(start)) runs past the end of the file (\(bytes.count) bytes)", .truncated)
        }
        return bytes.slice(start..<(start + entry.size))
    }
}
