import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Waits on several sockets (and wake-up file descriptors) at once (`zmq_poll`).
///
/// Not `Sendable`: it holds sockets, which live on one thread. The poller keeps its sockets alive.
public final class Poller {
    private var items: [zmq_pollitem_t] = []
    private var sockets: [Socket] = []
    private var wakers: [Waker] = []

    public init() {}

    /// Adds `socket` for `ZMQ_POLLIN` and returns its index in `poll`'s result.
    @discardableResult
    public func add(_ socket: Socket) -> Int {
        sockets.append(socket)
        items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Adds `waker`'s file descriptor and returns its index in `poll`'s result.
    @discardableResult
    public func add(_ waker: Waker) -> Int {
        wakers.append(waker)
        items.append(zmq_pollitem_t(socket: nil, fd: waker.readDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Waits at most `timeoutMilliseconds` (-1: forever) until an item is readable; `EINTR` is retried.
    /// - Returns: for each item in order of `add`, whether it is readable (all false on timeout).
    public func poll(timeoutMilliseconds: Int) throws(ZeroMQError) -> [Bool] {
        while true {
            let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), timeoutMilliseconds) }
            if rc >= 0 { return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 } }
            let error = ZeroMQError.last("zmq_poll")
            if error.errno != EINTR { throw error }
        }
    }
}

/// A thread-safe way to wake a thread blocked in `Poller.poll` (a non-blocking pipe, polled as a file
/// descriptor). Any thread may call `wake()`; the polling thread calls `drain()` after waking.
public final class Waker: Sendable {
    // Safety of Sendable: the descriptors are immutable after init; read(2) and write(2) on a pipe are
    // thread-safe.
    let readDescriptor: Int32
    let writeDescriptor: Int32

    /// Creates the pipe (`pipe`, then `fcntl` for `O_NONBLOCK` and `FD_CLOEXEC` on both ends; `pipe2`
    /// is not visible to Swift without `_GNU_SOURCE`).
    public init() throws(ZeroMQError) {
        var fds: [Int32] = [0, 0]
        if pipe(&fds) != 0 { throw ZeroMQError(errno: Glibc.errno, operation: "pipe") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    /// Makes the read end readable. Never blocks: when the pipe is full a wake-up is pending already.
    public func wake() {
        var byte: UInt8 = 1
        while write(writeDescriptor, &byte, 1) < 0 && Glibc.errno == EINTR {}
    }

    /// Empties the pipe, so the next poll waits again.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readDescriptor, &buffer, buffer.count) > 0 {}
    }
}
