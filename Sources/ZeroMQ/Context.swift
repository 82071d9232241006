import CZeroMQ

/// A libzmq context (`zmq_ctx_new`), the owner of I/O threads and the factory of sockets.
///
/// Thread-safety: libzmq contexts are thread-safe, so a context may be shared between threads; the
/// sockets made from it are not (see `Socket`). `deinit` calls `zmq_ctx_term`, which waits until every
/// socket of the context is closed: close sockets (let them go) before the context.
public final class Context: @unchecked Sendable {
    // Safety: libzmq documents contexts as thread-safe; the handle is immutable after init.
    let handle: UnsafeMutableRawPointer

    /// Creates a context (`zmq_ctx_new`).
    public init() throws(ZeroMQError) {
        guard let handle = zmq_ctx_new() else { throw ZeroMQError.last("zmq_ctx_new") }
        self.handle = handle
    }

    deinit {
        // zmq_ctx_term is interrupted by signals (EINTR): retry as libzmq documents.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// The libzmq version, e.g. "4.3.4" (`zmq_version`).
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
