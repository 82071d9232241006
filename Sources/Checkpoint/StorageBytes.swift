import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Owns one region of bytes: a read-only memory mapping of a whole file (unmapped in `deinit`) or a
/// 64-byte-aligned heap buffer (deallocated in `deinit`).
final class ByteOwner: @unchecked Sendable {
    // Safety: `base` and `count` are immutable, and the bytes are never written after `init`
    // (the mapping is PROT_READ; the heap buffer is filled before the owner is published).
    let base: UnsafeRawPointer?
    let count: Int
    let isMemoryMapped: Bool

    private init(base: UnsafeRawPointer?, count: Int, isMemoryMapped: Bool) {
        self.base = base
        self.count = count
        self.isMemoryMapped = isMemoryMapped
    }

    deinit {
        guard let base else { return }
        if isMemoryMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            base.deallocate()
        }
    }

    /// Maps `path` read-only and private (`open` + `fstat` + `mmap(PROT_READ, MAP_PRIVATE)`); the file
    /// descriptor is closed right away, the mapping lives as long as the owner.
    static func map(path: String) throws -> ByteOwner {
        var fd: Int32
        repeat {
            fd = open(path, O_RDONLY | O_CLOEXEC)
        } while fd < 0 && errno == EINTR
        if fd < 0 {
            let code = errno
            throw CheckpointError(.io, file: path, "cannot open the file: \(errnoText(code))")
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            let code = errno
            throw CheckpointError(.io, file: path, "cannot stat the file: \(errnoText(code))")
        }
        if (info.st_mode & S_IFMT) != S_IFREG {
            throw CheckpointError(.io, file: path, "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            return ByteOwner(base: nil, count: 0, isMemoryMapped: false)
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        if address == MAP_FAILED || address == nil {
            let code = errno
            throw CheckpointError(.io, file: path, "cannot memory-map \(size) bytes: \(errnoText(code))")
        }
        return ByteOwner(base: UnsafeRawPointer(address), count: size, isMemoryMapped: true)
    }

    /// Copies `bytes` into a new 64-byte-aligned buffer.
    static func copying(_ bytes: UnsafeRawBufferPointer) -> ByteOwner {
        guard bytes.count > 0, let source = bytes.baseAddress else {
            return ByteOwner(base: nil, count: 0, isMemoryMapped: false)
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        buffer.copyMemory(from: source, byteCount: bytes.count)
        return ByteOwner(base: UnsafeRawPointer(buffer), count: bytes.count, isMemoryMapped: false)
    }

    static func errnoText(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}

/// An immutable, shareable handle to a range of bytes: part of a memory-mapped checkpoint file (zero
/// copy) or of an owned aligned buffer. Copies of a `StorageBytes` share the bytes; the region stays
/// alive (mapped) as long as any handle to it exists.
///
/// Mapped files are mapped private and read-only. As with any mapping, a file truncated by another
/// process while mapped makes later reads of the lost pages fault (SIGBUS); checkpoints are expected to
/// be left alone while loaded.
public struct StorageBytes: Sendable {
    let owner: ByteOwner
    let offset: Int
    /// Number of bytes.
    public let count: Int

    init(owner: ByteOwner, offset: Int, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset <= owner.count - count,
                     "StorageBytes range \(offset)..<\(offset + count) outside \(owner.count) bytes")
        self.owner = owner
        self.offset = offset
        self.count = count
    }

    /// Copies `bytes` into a new 64-byte-aligned buffer.
    public init(_ bytes: [UInt8]) {
        let owner = bytes.withUnsafeBytes { ByteOwner.copying($0) }
        self.init(owner: owner, offset: 0, count: owner.count)
    }

    /// Copies the bytes of `buffer` into a new 64-byte-aligned buffer.
    public init(copying buffer: UnsafeRawBufferPointer) {
        let owner = ByteOwner.copying(buffer)
        self.init(owner: owner, offset: 0, count: owner.count)
    }

    /// Calls `body` with the bytes. The pointer is valid only inside `body`; do not store it.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) {
            guard let base = owner.base, count > 0 else {
                return try body(UnsafeRawBufferPointer(start: nil, count: 0))
            }
            return try body(UnsafeRawBufferPointer(start: base + offset, count: count))
        }
    }

    /// True when the first byte's address is a multiple of `alignment` (a power of two). Storages read
    /// from files are not always aligned: legacy `.pth` storages follow each other at arbitrary offsets,
    /// and safetensors offsets are only as aligned as the writer made them. Check before binding the
    /// bytes to a wider type; `TensorRecord`'s accessors load unaligned values and need no check.
    public func isAligned(to alignment: Int) -> Bool {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment \(alignment) is not a power of two")
        guard let base = owner.base else { return true }
        return Int(bitPattern: base + offset) & (alignment - 1) == 0
    }

    /// True when the bytes are a region of a memory-mapped file (no copy was made).
    public var isMemoryMapped: Bool { owner.isMemoryMapped }

    /// True when both handles denote exactly the same bytes of the same buffer or mapping.
    public func isSameRegion(as other: StorageBytes) -> Bool {
        owner === other.owner && offset == other.offset && count == other.count
    }

    /// A sub-range of these bytes, sharing them (no copy).
    func slice(_ range: Range<Int>) -> StorageBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice \(range) outside \(count) bytes")
        return StorageBytes(owner: owner, offset: offset + range.lowerBound, count: range.count)
    }

    /// The bytes as an array (a copy).
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}
