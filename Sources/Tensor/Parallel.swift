import Dispatch

/// Splits loops over the available cores: the non-GEMM loops (im2col, norms, attention sampling,
/// element-wise ops) and the row or column blocks of large GEMMs (`BLAS.sgemm`). How many workers is a
/// per-call setting (`TensorRuntime.withThreadCount`), so engines on different threads do not share it.
public enum Parallel {
    /// Number of worker chunks to use on the calling thread: the innermost
    /// `TensorRuntime.withThreadCount` scope, else `defaultThreadCount`.
    public static var threadCount: Int { scopedThreadCount ?? defaultThreadCount }

    /// The per-call setting behind `TensorRuntime.withThreadCount` (a task-local value, which also
    /// binds on threads outside Swift tasks for the duration of the scope).
    @TaskLocal static var scopedThreadCount: Int?

    /// Workers where no scope applies; the number of online cores unless set.
    // Safety: written only at start-up (`TensorRuntime.defaultThreadCount`) or by tests before they run
    // ops; every other access is a read.
    nonisolated(unsafe) static var defaultThreadCount: Int = max(1, ProcessInfoCount.active)

    /// Runs `body(range)` over `0..<count` split into contiguous chunks of at least `minChunk` items,
    /// concurrently when there is enough work. `body` must be safe to call concurrently on disjoint
    /// ranges.
    public static func forEach(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let chunks = min(threadCount, max(1, count / max(minChunk, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        let base = count / chunks, extra = count % chunks
        withoutActuallyEscaping(body) { body in
            // Safety: concurrentPerform returns only after every iteration has finished, so `body`
            // does not outlive this call; callers promise that disjoint ranges may run concurrently.
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = c * base + min(c, extra)
                let end = start + base + (c < extra ? 1 : 0)
                work.value(start..<end)
            }
        }
    }
}

/// Carries a value across a concurrency boundary the compiler cannot check.
struct UncheckedSendable<Value>: @unchecked Sendable {
    // Safety: used only where the surrounding code guarantees the access pattern (see call sites).
    let value: Value
    init(_ value: Value) { self.value = value }
}

enum ProcessInfoCount {
    static var active: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
