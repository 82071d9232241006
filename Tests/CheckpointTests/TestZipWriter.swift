/// Writes zip archives the way PyTorch's writer does (stored entries, general-purpose flag 0x0808 with
/// zero sizes in the local headers and a data descriptor after the data, a local extra field that pads
/// the data to `alignment`), optionally with every central-directory size and offset in zip64 form.
/// For tests only: CRCs are left zero (the reader does not check them).
enum TestZipWriter {
    static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    static func le32(_ value: Int) -> [UInt8] { le16(value & 0xFFFF) + le16(value >> 16 & 0xFFFF) }
    static func le64(_ value: Int) -> [UInt8] { le32(value & 0xFFFF_FFFF) + le32(value >> 32) }

    static func archive(_ entries: [(name: String, data: [UInt8])], zip64: Bool, alignment: Int = 64) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let name = Array(entry.name.utf8)
            let offset = out.count
            let start = offset + 30 + name.count
            var extraLength = (alignment - start % alignment) % alignment
            if extraLength > 0 && extraLength < 4 { extraLength += alignment }
            var extra: [UInt8] = []
            if extraLength > 0 { extra = le16(0x4246) + le16(extraLength - 4) + [UInt8](repeating: 0x5A, count: extraLength - 4) }
            out += le32(0x0403_4B50) + le16(zip64 ? 45 : 20) + le16(0x0808) + le16(0) + le16(0) + le16(0)
            out += le32(0) + le32(0) + le32(0) + le16(name.count) + le16(extra.count) + name + extra
            out += entry.data
            out += le32(0x0807_4B50) + le32(0) + (zip64 ? le64(entry.data.count) + le64(entry.data.count) : le32(entry.data.count) + le32(entry.data.count))
            let size = zip64 ? 0xFFFF_FFFF : entry.data.count
            let centralExtra = zip64 ? le16(1) + le16(24) + le64(entry.data.count) + le64(entry.data.count) + le64(offset) : []
            central += le32(0x0201_4B50) + le16(0x031E) + le16(zip64 ? 45 : 20) + le16(0x0808) + le16(0) + le16(0) + le16(0)
            central += le32(0) + le32(size) + le32(size) + le16(name.count) + le16(centralExtra.count) + le16(0)
            central += le16(0) + le16(0) + le32(0) + le32(zip64 ? 0xFFFF_FFFF : offset) + name + centralExtra
        }
        let directoryOffset = out.count
        out += central
        if zip64 {
            let record = out.count
            out += le32(0x0606_4B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            out += le64(entries.count) + le64(entries.count) + le64(central.count) + le64(directoryOffset)
            out += le32(0x0706_4B50) + le32(0) + le64(record) + le32(1)
            out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF) + le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(0)
        } else {
            out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
            out += le32(central.count) + le32(directoryOffset) + le16(0)
        }
        return out
    }
}
