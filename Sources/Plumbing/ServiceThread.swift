#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A dedicated, joinable OS thread for one blocking loop (a GStreamer supervisor, a ZeroMQ socket's
/// service loop): blocking work never runs on Swift's cooperative pool.
///
/// Unlike Foundation's `Thread`, it can be joined: `join()` returns only after the body has returned
/// *and* the closure with everything it captured has been released, so an owner's `stop()` can promise
/// that the resources the thread used are gone when it returns.
public final class ServiceThread: Sendable {
    /// The system refused to create a thread (`pthread_create` failed).
    public struct StartError: Error, Sendable, CustomStringConvertible {
        /// The `pthread_create` error number (`EAGAIN`: too many threads or not enough memory).
        public let code: Int32
        public let name: String
        public var description: String {
            "cannot start the thread '\(name)' (pthread_create: \(String(cString: strerror(code))))"
        }
    }

    /// The thread's name, for messages (Glibc's module does not export `pthread_setname_np`, so the OS
    /// thread keeps the process name).
    public let name: String
    private let handle: pthread_t
    /// Whether `pthread_join` (or `pthread_detach` in deinit) has run; held while joining, so a
    /// second concurrent `join` waits for the first.
    private let joined = Mutex(false)

    private final class Body {
        let run: () -> Void
        init(run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread (`pthread_create`).
    /// - Throws: `StartError` when the system cannot create a thread.
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(StartError) {
        self.name = name
        let box = Unmanaged.passRetained(Body(run: body)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { argument in
            guard let argument else { return nil }
            // Taking the retained value releases the body (and its captures) when this scope ends,
            // before the thread exits and so before any join returns.
            let body = Unmanaged<Body>.fromOpaque(argument).takeRetainedValue()
            body.run()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw StartError(code: status, name: name)
        }
        #if canImport(Darwin)
        self.handle = handle!
        #else
        self.handle = handle
        #endif
    }

    /// Starts `body` on a new thread and waits until it calls `ready` with the result of its setup
    /// (e.g. a bound socket's endpoint, or the setup error), or returns without calling it (then
    /// `setup` is nil). Only the first call of `ready` counts.
    /// - Throws: `StartError` when the system cannot create a thread.
    public static func start<Setup: Sendable>(
        name: String, _ body: @escaping @Sendable (_ ready: @escaping @Sendable (Setup) -> Void) -> Void
    ) throws(StartError) -> (thread: ServiceThread, setup: Setup?) {
        // nil: not reported yet; .some(nil): the body returned without reporting.
        let outcome = Monitor<Setup??>(nil)
        let thread = try ServiceThread(name: name) {
            body { setup in
                outcome.withLock(notify: true) { if $0 == nil { $0 = .some(setup) } }
            }
            outcome.withLock(notify: true) { if $0 == nil { $0 = .some(nil) } }
        }
        let setup = outcome.wait(until: { $0 != nil }) { state, _ in state! }
        return (thread, setup)
    }

    /// Whether the caller is running on this thread.
    public var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }

    /// Waits until the body has returned and released its captures (`pthread_join`). Idempotent and
    /// thread-safe: later or concurrent calls wait for the same end. Called on the thread itself it
    /// returns at once (a thread cannot wait for its own end): check `isCurrent` where that matters.
    public func join() {
        guard !isCurrent else { return }
        joined.withLock { done in
            guard !done else { return }
            _ = pthread_join(handle, nil)
            done = true
        }
    }

    deinit {
        // Never joined: let the system reclaim the thread when it ends.
        joined.withLock { done in
            if !done { _ = pthread_detach(handle) }
        }
    }
}
