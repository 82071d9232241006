// The public face of the compute runtime behind `Tensor` (OpenBLAS and the `Parallel` workers), for
// executables: kernel choice, thread counts, descriptions for logs. Model code never needs it.

/// Process start-up and threading settings of the tensor runtime.
///
/// Threads are a per-call setting: `withThreadCount(_:_:)` scopes the number of workers the ops run
/// on (an engine serving one stream wraps its work in it), and `defaultThreadCount` applies where no
/// scope does. OpenBLAS's own thread count is never changed at run time (see `BLAS`).
public enum TensorRuntime {
    /// Restarts the current executable with `OPENBLAS_CORETYPE` set to the fastest kernel family the
    /// CPU supports when OpenBLAS picked a generic one (Debian 12's OpenBLAS 0.3.21 does not know recent
    /// Xeon/EPYC models and falls back to SSE3 kernels, 4–5× slower). OpenBLAS reads the variable only
    /// when the library loads, hence the `execv` of `/proc/self/exe` with the same arguments.
    ///
    /// Call it first thing in `main`, before any thread starts. Does nothing when `OPENBLAS_CORETYPE` is
    /// already set (the user keeps the last word), when `REFERSTREAM_KEEP_BLAS_KERNEL` is set, or when
    /// there is nothing better to choose. Returns only if it did not restart.
    /// - Returns: the kernel OpenBLAS uses, for the caller's log.
    @discardableResult
    public static func restartWithFastestKernelIfNeeded() -> String { BLAS.restartWithFastestKernelIfNeeded() }

    /// The CPU kernel OpenBLAS chose (`openblas_get_corename`), e.g. `Haswell`.
    public static var kernelName: String { BLAS.coreName }

    /// OpenBLAS's build description (`openblas_get_config`), for benchmark reports.
    public static var libraryDescription: String { BLAS.configuration }

    /// The number of workers ops use on the calling thread: the innermost `withThreadCount` scope, or
    /// `defaultThreadCount`.
    public static var threadCount: Int { Parallel.threadCount }

    /// Workers per op where no `withThreadCount` scope applies; the number of online cores unless set.
    ///
    /// Set it at start-up, before ops run (reads are not synchronised with this write).
    public static var defaultThreadCount: Int {
        get { Parallel.defaultThreadCount }
        set { Parallel.defaultThreadCount = Swift.max(1, newValue) }
    }

    /// Runs `body` with ops on this thread (and in tasks it starts) using `count` workers (at least
    /// 1), whatever other threads use: the per-engine thread setting.
    public static func withThreadCount<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        try Parallel.$scopedThreadCount.withValue(Swift.max(1, count), operation: body)
    }
}
