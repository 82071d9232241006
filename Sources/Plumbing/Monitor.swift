#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a mutex, with a condition variable to wait until the value changes (a monitor).
///
/// Use `Synchronization.Mutex` for state that is only read and written under a lock; use a `Monitor`
/// where a thread must *wait* for another thread's change (a consumer waiting for a frame, a service
/// thread waiting for work or a stop request). `Mutex` has no condition variable, so this type pairs a
/// `pthread_mutex_t` with a `pthread_cond_t` on `CLOCK_MONOTONIC` (deadlines do not move when the wall
/// clock is stepped).
///
/// Every access to the value goes through `withLock`; `withLock(notify: true)` wakes all waiters after
/// the change, and `wait(until:deadline:_:)` sleeps (releasing the lock) until a predicate holds.
public final class Monitor<State> {
    // The mutex and condition must not move once initialised, so they live in memory allocated here
    // and freed in deinit (the one place this target keeps raw pointers).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var state: State

    public init(_ state: State) {
        self.state = state
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if !canImport(Darwin)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the lock held. With `notify`, wakes every thread waiting in `wait` afterwards
    /// (`pthread_cond_broadcast`), so they re-check their predicate.
    public func withLock<Result, Failure: Error>(
        notify: Bool = false, _ body: (inout State) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer {
            if notify { pthread_cond_broadcast(condition) }
            pthread_mutex_unlock(mutex)
        }
        return try body(&state)
    }

    /// Waits until `isReady` holds or `deadline` passes (nil: no deadline), then runs `body` with the
    /// lock held; `body`'s second argument says whether `isReady` held (false: the deadline passed).
    /// `isReady` is evaluated with the lock held, first before any wait and again after every wake-up.
    public func wait<Result, Failure: Error>(
        until isReady: (borrowing State) -> Bool, deadline: ContinuousClock.Instant? = nil,
        _ body: (inout State, _ ready: Bool) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !isReady(state) {
            guard let deadline else {
                pthread_cond_wait(condition, mutex)
                continue
            }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return try body(&state, false) }
            var until = Self.monotonicNow()
            let (seconds, attoseconds) = remaining.components
            let nanoseconds = Int(until.tv_nsec) + Int(attoseconds / 1_000_000_000)
            until.tv_sec += time_t(seconds) + time_t(nanoseconds / 1_000_000_000)
            until.tv_nsec = Int(nanoseconds % 1_000_000_000)
            _ = pthread_cond_timedwait(condition, mutex, &until)
        }
        return try body(&state, true)
    }

    private static func monotonicNow() -> timespec {
        var now = timespec()
        #if canImport(Darwin)
        clock_gettime(CLOCK_REALTIME, &now)
        #else
        clock_gettime(CLOCK_MONOTONIC, &now)
        #endif
        return now
    }
}

// Safety: `state` is only touched between pthread_mutex_lock and pthread_mutex_unlock (withLock, wait),
// so a Sendable value may be shared by the threads that hold the monitor; the pthread objects are
// allocated once, never move and are destroyed only in deinit, when no thread can hold a reference.
extension Monitor: @unchecked Sendable where State: Sendable {}
