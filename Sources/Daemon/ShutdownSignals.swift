import Foundation
import Synchronization
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT for the daemon: the first starts the graceful shutdown, a second exits at once with
/// status 130.
///
/// The handlers are installed with `sigaction` before `install()` returns, so a signal that arrives after that
/// (for instance the moment READY=1 was sent) is never lost. Dispatch signal sources, which swift-service-lifecycle
/// uses, register asynchronously on the dispatch manager thread; a signal that arrived before the registration was
/// done was dropped, and the daemon ignored a prompt SIGTERM. The handler only writes the signal's number to a pipe
/// (async-signal-safe, whichever thread receives it); a thread reads the pipe and acts.
public final class ShutdownSignals: Sendable {
    /// The write end of the pipe, read by the signal handler. Set once, before any handler is installed.
    nonisolated(unsafe) private static var pipeWriteEnd: Int32 = -1
    private static let installed = Mutex<ShutdownSignals?>(nil)

    private struct State {
        var received: [Int32] = []
        var actions: [@Sendable (Int32) -> Void] = []
        var logger: Logger?
    }
    private let state = Mutex(State())

    private init() {}

    /// Installs the handlers (once per process; later calls return the same instance).
    public static func install() -> ShutdownSignals {
        installed.withLock { current in
            if let current { return current }
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { fatalError("referstreamd: pipe() failed: \(String(cString: strerror(errno)))") }
            _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
            // A full pipe (thousands of signals unread) must not block the handler.
            _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
            pipeWriteEnd = ends[1]
            let signals = ShutdownSignals()
            let readEnd = ends[0]
            let reader = Thread { signals.readLoop(readEnd) }
            reader.name = "referstreamd-signals"
            reader.start()
            for number in [SIGTERM, SIGINT] {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { number in
                    let saved = errno
                    var byte = UInt8(truncatingIfNeeded: number)
                    _ = write(ShutdownSignals.pipeWriteEnd, &byte, 1)
                    errno = saved
                }
                action.sa_flags = SA_RESTART
                sigemptyset(&action.sa_mask)
                guard sigaction(number, &action, nil) == 0 else {
                    fatalError("referstreamd: sigaction(\(number)) failed: \(String(cString: strerror(errno)))")
                }
            }
            current = signals
            return signals
        }
    }

    /// Where "received SIGTERM" is logged (until this is set, nothing is logged for the first signal).
    public func setLogger(_ logger: Logger) { state.withLock { $0.logger = logger } }

    /// Runs `action` on the first signal; at once (on this thread) when it has already arrived.
    public func onShutdown(_ action: @escaping @Sendable (_ signal: Int32) -> Void) {
        let earlier: Int32? = state.withLock { state in
            if let first = state.received.first { return first }
            state.actions.append(action)
            return nil
        }
        if let earlier { action(earlier) }
    }

    private func readLoop(_ fd: Int32) {
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n == 1 else { return }
            let number = Int32(byte)
            let (count, actions, logger): (Int, [@Sendable (Int32) -> Void], Logger?) = state.withLock { state in
                state.received.append(number)
                let actions = state.received.count == 1 ? state.actions : []
                if state.received.count == 1 { state.actions = [] }
                return (state.received.count, actions, state.logger)
            }
            if count >= 2 {
                FileHandle.standardError.write(Data("referstreamd: second signal (\(Self.name(number))), exiting now\n".utf8))
                _exit(130)
            }
            logger?.notice("\(Self.name(number)) received: stopping (within 2 s; a second signal exits at once)")
            for action in actions { action(number) }
        }
    }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(number)"
        }
    }
}
