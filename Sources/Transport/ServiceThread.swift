import Foundation

/// A dedicated thread that runs one blocking loop (ZeroMQ sockets live on one thread), reports whether
/// its setup succeeded, and can be joined.
final class ServiceThread: Sendable {
    // Safety of Sendable: DispatchSemaphore is thread-safe; `thread` is only touched in `start`.
    private let finished = DispatchSemaphore(value: 0)
    private let name: String

    init(name: String) { self.name = name }

    /// Starts `body` on a new thread and waits until it calls `ready` (with nil or the setup error).
    func start<Setup: Sendable>(
        _ body: @escaping @Sendable (_ ready: @escaping @Sendable (Result<Setup, TransportError>) -> Void) -> Void
    ) throws(TransportError) -> Setup {
        let started = DispatchSemaphore(value: 0)
        let outcome = LockedBox<Result<Setup, TransportError>?>(nil)
        let finished = self.finished
        let reported = LockedBox(false)
        let thread = Thread {
            // `ready` is honoured once; if the body returns without calling it, `start` still returns.
            body { result in
                if !reported.update({ was in defer { was = true }; return was }) {
                    outcome.set(result)
                    started.signal()
                }
            }
            if !reported.update({ was in defer { was = true }; return was }) { started.signal() }
            finished.signal()
        }
        thread.name = name
        thread.start()
        started.wait()
        switch outcome.get() {
        case .success(let setup)?: return setup
        case .failure(let error)?:
            finished.wait()
            throw error
        case nil: throw TransportError(.state, "\(name) thread ended without reporting")
        }
    }

    /// Waits until the thread's body has returned.
    func join() { finished.wait() }
}

/// A value behind a lock.
final class LockedBox<Value: Sendable>: Sendable {
    // Safety of Sendable: `value` is only accessed with `lock` held.
    private let lock = NSLock()
    nonisolated(unsafe) private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    @discardableResult
    func update<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}
