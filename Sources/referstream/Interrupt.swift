#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Ctrl-C (SIGINT) as a flag that long commands poll between steps, so they can stop cleanly.
enum Interrupt {
    /// Set by the signal handler; an atomic store is async-signal-safe.
    static let flag = Atomic<Bool>(false)

    /// Installs the handler: the first SIGINT sets the flag (and restores the default action, so a
    /// second Ctrl-C ends the process at once). Also unblocks SIGINT on the calling thread: a parent
    /// may start us with it blocked (a blocked mask is inherited through exec), and then nothing would
    /// ever stop the run.
    static func install() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            Interrupt.flag.store(true, ordering: .relaxed)
            signal(SIGINT, SIG_DFL)
        }
    }

    static var requested: Bool { flag.load(ordering: .relaxed) }
}
