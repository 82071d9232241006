import Foundation

/// The checkpoint formats the readers of this module accept, recognised by a file's first bytes (never
/// by its name): a new user's `--weights` may be a JPEG, an HTML page saved instead of a download, or a
/// Git LFS pointer, and deserves to be told so rather than "header length 7526676540175443304".
public enum CheckpointFormat: String, Sendable {
    /// 8-byte little-endian header length, then a JSON object (`{`).
    case safetensors
    /// `torch.save` zip format (`PK\x03\x04`).
    case pyTorchZip = "PyTorch zip"
    /// `torch.save` legacy format: a pickle stream (`\x80` + protocol 2…5).
    case pyTorchLegacy = "PyTorch legacy"

    /// Recognises the file at `url` from its first bytes.
    /// - Throws: `CheckpointError` `.io` when it cannot be read, `.unrecognizedFormat` when it is no
    ///   checkpoint; the message says what the file looks like (image, web page, text, …).
    public init(contentsOf url: URL) throws {
        let head: [UInt8]
        let size: Int
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            head = [UInt8](try handle.read(upToCount: 64) ?? Data())
            size = Int(try handle.seekToEnd())
        } catch {
            throw CheckpointError(.io, file: url.path, "cannot read the file: \((error as NSError).localizedFailureReason ?? error.localizedDescription)")
        }
        guard let format = Self(head: head, fileSize: size) else {
            throw CheckpointError(.unrecognizedFormat, file: url.path, Self.notACheckpoint(head: head))
        }
        self = format
    }

    /// The format whose signature `head` (the first bytes of a file of `fileSize` bytes) carries.
    public init?(head: [UInt8], fileSize: Int) {
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { self = .pyTorchZip; return }
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) { self = .pyTorchLegacy; return }
        // A safetensors header length below 2^32 (the reader's limit is 100 MB) followed by `{`.
        if fileSize >= 9, head.count >= 9, head[4..<8].allSatisfy({ $0 == 0 }), head[8] == UInt8(ascii: "{") {
            self = .safetensors
            return
        }
        return nil
    }

    /// "not a safetensors or PyTorch checkpoint (<what it looks like>)", for a file whose first bytes
    /// are `head`.
    public static func notACheckpoint(head: [UInt8]) -> String {
        "not a safetensors or PyTorch checkpoint (\(describe(head)))"
    }

    /// What a file starting with `head` looks like, in words.
    static func describe(_ head: [UInt8]) -> String {
        func starts(_ text: String, at offset: Int = 0) -> Bool {
            let bytes = Array(text.utf8)
            return head.count >= offset + bytes.count && Array(head[offset..<(offset + bytes.count)]) == bytes
        }
        if head.isEmpty { return "the file is empty" }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "it is a JPEG image" }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "it is a PNG image" }
        if starts("GIF8") { return "it is a GIF image" }
        if starts("%PDF") { return "it is a PDF document" }
        if head.starts(with: [0x1F, 0x8B]) { return "it is gzip-compressed: unpack it first" }
        if starts("BZh") || head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A]) || head.starts(with: [0x37, 0x7A, 0xBC, 0xAF])
            || starts("Rar!") { return "it is a compressed archive: unpack it first" }
        if head.starts(with: [0x7F, 0x45, 0x4C, 0x46]) { return "it is an executable (ELF)" }
        if starts("ftyp", at: 4) { return "it is an MP4/QuickTime video" }
        if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "it is a Matroska/WebM video" }
        if starts("RIFF") { return "it is a RIFF file (AVI, WAV or WebP)" }
        if starts("version https://git-lfs") { return "it is a Git LFS pointer: fetch the real file with git lfs pull" }
        let text = String(decoding: head.prefix(32), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if text.hasPrefix("<!doctype html") || text.hasPrefix("<html") || text.hasPrefix("<head") {
            return "it is an HTML page: the download saved a web page (e.g. a confirmation page) instead of the file"
        }
        if text.hasPrefix("{") || text.hasPrefix("[") { return "it is JSON text" }
        let printable = head.filter { (0x20...0x7E).contains($0) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 >= 0x80 }
        if printable.count == head.count { return "it is text" }
        return "it starts with bytes " + head.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
    }
}
