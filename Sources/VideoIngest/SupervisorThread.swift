import Foundation

/// A joinable OS thread for a source's supervisor (Foundation's `Thread` cannot be joined).
///
/// `join` returns only after the body and everything it captured are released, so `stop()` can promise
/// that the pipelines and callbacks of a source are gone when it returns.
final class SupervisorThread: @unchecked Sendable {
    // Safety: `handle` is written once in init (before any other thread can see the object) and only
    // read afterwards; `pthread_join` is called at most once (`join` is guarded by the owner's lock).
    private var handle = pthread_t()

    private final class Body {
        let run: () -> Void
        init(run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread (`pthread_create`).
    /// - Throws: `.stateChange` when the system refuses to create a thread.
    init(body: @escaping @Sendable () -> Void) throws(IngestError) {
        let box = Unmanaged.passRetained(Body(run: body)).toOpaque()
        let status = pthread_create(&handle, nil, { argument in
            guard let argument else { return nil }
            // Taking the retained value releases the body (and its captures) when this scope ends,
            // before the thread exits and before any join returns.
            let body = Unmanaged<Body>.fromOpaque(argument).takeRetainedValue()
            body.run()
            return nil
        }, box)
        if status != 0 {
            Unmanaged<Body>.fromOpaque(box).release()
            throw IngestError(.stateChange, "cannot start a thread for the source (pthread_create: \(String(cString: strerror(status))))")
        }
    }

    /// Whether the caller is this thread (joining itself would deadlock).
    var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }

    /// Waits for the thread to end (`pthread_join`). Call once.
    func join() {
        _ = pthread_join(handle, nil)
    }
}
