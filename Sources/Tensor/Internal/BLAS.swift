// The only file that imports COpenBLAS: every matrix product in ReferStream goes through `BLAS.sgemm`.
import COpenBLAS
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The project's single entry point to OpenBLAS.
///
/// Matrices are row-major with explicit leading dimensions, as `cblas_sgemm` takes them, so strided
/// views (a transposed weight, a slice of a batch) need no copy when their inner stride is 1.
public enum BLAS {
    /// Whether an operand is read as stored or transposed.
    public enum Transpose: Sendable {
        case none
        case transposed

        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major (calls `cblas_sgemm`).
    ///
    /// - Parameters:
    ///   - m, n, k: `op(A)` is m×k, `op(B)` is k×n, `C` is m×n.
    ///   - lda, ldb, ldc: leading dimensions (row strides, in elements) of A, B and C as stored.
    /// - Precondition: the leading dimensions are large enough for the stored shapes.
    public static func sgemm(
        transA: Transpose = .none, transB: Transpose = .none,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative size m=\(m) n=\(n) k=\(k)")
        precondition(ldc >= max(1, n), "sgemm: ldc \(ldc) < n \(n)")
        precondition(lda >= max(1, transA == .none ? k : m), "sgemm: lda \(lda) too small for \(transA) A (m=\(m), k=\(k))")
        precondition(ldb >= max(1, transB == .none ? n : k), "sgemm: ldb \(ldb) too small for \(transB) B (k=\(k), n=\(n))")
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA.cblas, transB.cblas, blasint(m), blasint(n), blasint(k), alpha, a,
            blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// The number of threads OpenBLAS uses for one call (`openblas_get_num_threads`), as configured:
    /// inside `withSingleThreadedCalls` this is still the count that applies afterwards.
    public static var threadCount: Int {
        singleThreaded.withLock { state in state.depth > 0 ? state.saved : Int(openblas_get_num_threads()) }
    }

    /// Sets the number of threads OpenBLAS uses (`openblas_set_num_threads`); values below 1 mean 1.
    /// Inside `withSingleThreadedCalls` (on any thread) it takes effect when that ends.
    public static func setThreadCount(_ count: Int) {
        singleThreaded.withLock { state in
            if state.depth > 0 { state.saved = max(1, count) } else { openblas_set_num_threads(Int32(max(1, count))) }
        }
    }

    /// Nesting depth of `withSingleThreadedCalls` and the thread count to restore after it.
    private static let singleThreaded = Mutex<(depth: Int, saved: Int)>((0, 1))

    /// Runs `body` with OpenBLAS set to one thread per call, then restores the configured count, so
    /// that `body` may call `sgemm` from several threads of its own at once (each call then runs on
    /// its calling thread). Nested or concurrent uses restore the count once, when the last one ends.
    /// The setting is process-wide: other threads' calls meanwhile also run single-threaded.
    public static func withSingleThreadedCalls<R>(_ body: () throws -> R) rethrows -> R {
        singleThreaded.withLock { state in
            if state.depth == 0 { state.saved = Int(openblas_get_num_threads()) }
            state.depth += 1
            openblas_set_num_threads(1)
        }
        defer {
            singleThreaded.withLock { state in
                state.depth -= 1
                if state.depth == 0 { openblas_set_num_threads(Int32(state.saved)) }
            }
        }
        return try body()
    }

    /// OpenBLAS's build description (`openblas_get_config`), e.g. for benchmark reports.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// The CPU kernel OpenBLAS chose (`openblas_get_corename`).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The OpenBLAS kernel family this CPU can run fastest, when OpenBLAS's own detection chose a
    /// generic one: OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeon/EPYC models (or
    /// virtual CPUs that hide the model) and falls back to SSE3 `Prescott` kernels, 4–5× slower
    /// than the AVX-512 (`SkylakeX`) or AVX2 (`Haswell`) ones the CPU supports. Nil when the chosen
    /// kernel is already specific, or the CPU has neither feature set.
    public static var recommendedCoreType: String? {
        let generic: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "unknown", "barcelona"]
        guard generic.contains(coreName.lowercased()) else { return nil }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// Restarts the current executable with `OPENBLAS_CORETYPE` set to `recommendedCoreType` when
    /// OpenBLAS picked a generic kernel (see there). OpenBLAS reads the variable only when the library
    /// is loaded, before `main`, hence the `execv` of `/proc/self/exe` with the same arguments.
    ///
    /// Call it first thing in `main`. Does nothing when `OPENBLAS_CORETYPE` is already set (also by
    /// the user, who keeps the last word), when `REFERSTREAM_KEEP_BLAS_KERNEL` is set, or when there
    /// is nothing better to choose. Returns only if it did not restart.
    /// - Returns: the kernel OpenBLAS uses, for the caller's log.
    @discardableResult
    public static func restartWithFastestKernelIfNeeded() -> String {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["REFERSTREAM_KEEP_BLAS_KERNEL"] == nil,
              let better = recommendedCoreType else { return coreName }
        setenv("OPENBLAS_CORETYPE", better, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // execv returned: the restart failed; carry on with the kernel we have.
        unsetenv("OPENBLAS_CORETYPE")
        for pointer in argv { free(pointer) }
        return coreName
    }
}
