import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Refuses an output file that cannot be created, before any work is done (a model run or a
/// conversion can take minutes): "cannot write PATH: <reason>", the reason in words (a missing folder,
/// a folder that takes no files such as /proc, permissions, a read-only file system).
/// - Throws: `CLIError` with that message.
func checkWritableOutput(_ path: String) throws {
    let fileManager = FileManager.default
    var isDirectory: ObjCBool = false
    if fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw CLIError("cannot write \(path): it is a folder; give a file name")
    }
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard fileManager.fileExists(atPath: folder, isDirectory: &isDirectory) else {
        throw CLIError("cannot write \(path): the folder \(folder) does not exist (create it first)")
    }
    guard isDirectory.boolValue else { throw CLIError("cannot write \(path): \(folder) is not a folder") }
    // Create (exclusively) and remove a sibling file: the only test that /proc, read-only mounts and
    // ACLs all answer truthfully.
    let probe = path + ".probe-\(getpid())"
    var fd: Int32
    repeat { fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) } while fd < 0 && errno == EINTR
    guard fd >= 0 else {
        let code = errno
        let reason = code == ENOENT ? "the folder \(folder) does not accept new files" : String(cString: strerror(code))
        throw CLIError("cannot write \(path): \(reason)")
    }
    close(fd)
    unlink(probe)
}
