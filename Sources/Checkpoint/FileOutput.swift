import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file being written through a POSIX descriptor (`open`/`write`/`fsync`/`rename`), streaming, so
/// that large checkpoints are never assembled in memory.
struct FileOutput {
    let fd: Int32
    let path: String
    private(set) var bytesWritten = 0

    /// Writes all of `buffer`, retrying on `EINTR` and short writes.
    mutating func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard var pointer = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            let written = Glibc.write(fd, pointer, min(remaining, 1 << 30))
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                throw CheckpointError(.io, file: path, "write failed: \(ByteOwner.errnoText(code))")
            }
            pointer += written
            remaining -= written
            bytesWritten += written
        }
    }

    /// Creates `<url>.partial-<pid>`, lets `body` fill it, then `fsync`s and renames it onto `url`.
    /// On failure the partial file is removed and the error rethrown.
    static func writeAtomically(to url: URL, _ body: (inout FileOutput) throws -> Void) throws {
        let path = url.path
        let temporary = path + ".partial-\(getpid())"
        var fd: Int32
        repeat {
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        } while fd < 0 && errno == EINTR
        if fd < 0 {
            let code = errno
            throw CheckpointError(.io, file: path, "cannot create \(temporary): \(ByteOwner.errnoText(code))")
        }
        var output = FileOutput(fd: fd, path: path)
        do {
            try body(&output)
            if fsync(fd) != 0 {
                let code = errno
                throw CheckpointError(.io, file: path, "fsync failed: \(ByteOwner.errnoText(code))")
            }
            close(fd)
            fd = -1
            if rename(temporary, path) != 0 {
                let code = errno
                throw CheckpointError(.io, file: path, "cannot rename \(temporary) into place: \(ByteOwner.errnoText(code))")
            }
        } catch {
            if fd >= 0 { close(fd) }
            unlink(temporary)
            throw error
        }
    }
}
