// The only file that imports COpenBLAS: every matrix product in ReferStream goes through `BLAS.sgemm`.
import COpenBLAS
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The project's single entry point to OpenBLAS (internal: model code uses `Tensor` ops).
///
/// Matrices are row-major with explicit leading dimensions, as `cblas_sgemm` takes them, so strided
/// views (a transposed weight, a slice of a batch) need no copy when their inner stride is 1.
///
/// Threading is per call, not per process: OpenBLAS itself always runs one thread (see
/// `configureOnce`), and `sgemm` splits a large product into row or column blocks that run on the
/// calling engine's `Parallel` workers (`TensorRuntime.withThreadCount` scopes their number), each block
/// one single-threaded OpenBLAS call on its worker's thread. So one stream's single-threaded work
/// (a convolution split by output rows) never changes how another stream's products run.
enum BLAS {
    /// Whether an operand is read as stored or transposed.
    enum Transpose: Sendable {
        case none
        case transposed

        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// Products of fewer multiply-adds than this run as one call on the calling thread (splitting
    /// them costs more in dispatch than it saves). 2¹⁸ is where OpenBLAS 0.3.21's own threading starts
    /// (`SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD` = 65536 · 4), so products split as they did
    /// when OpenBLAS threaded them itself.
    static let splitMinimumMACs = 1 << 18

    /// Sets OpenBLAS's own thread count to 1, once, before the first product.
    ///
    /// Safety: this is the one process-wide OpenBLAS setting ReferStream makes (`openblas_set_num_threads`).
    /// It is made once, under Swift's lazy-global once-initialisation, before any `cblas_sgemm` call of
    /// this process, and never changed: concurrent calls then each run on their calling thread, which
    /// OpenBLAS supports, and parallelism comes from `sgemm`'s own split (per call, per engine).
    private static let configureOnce: Void = { openblas_set_num_threads(1) }()

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major (calls `cblas_sgemm`), split over
    /// `Parallel.threadCount` workers when the product is large: by rows of C when m ≥ n, else by
    /// columns (every element of C is still one dot product in OpenBLAS's order within its block).
    /// Code that already runs on a worker of its own scopes `TensorRuntime.withThreadCount(1)` around
    /// its calls, which then run on the calling thread.
    ///
    /// - Parameters:
    ///   - m, n, k: `op(A)` is m×k, `op(B)` is k×n, `C` is m×n.
    ///   - lda, ldb, ldc: leading dimensions (row strides, in elements) of A, B and C as stored.
    /// - Precondition: the leading dimensions are large enough for the stored shapes.
    static func sgemm(
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
        configureOnce
        let workers = m * n * Swift.max(k, 1) >= splitMinimumMACs ? Parallel.threadCount : 1
        let splitRows = m >= n
        let extent = splitRows ? m : n
        // Blocks of whole 16-row/column panels (OpenBLAS's kernels work in panels of 4–16).
        let blocks = Swift.min(workers, extent / 16)
        guard blocks > 1 else {
            cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, blasint(m), blasint(n), blasint(k), alpha, a,
                        blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
            return
        }
        let (pa, pb, pc) = (UncheckedSendable(a), UncheckedSendable(b), UncheckedSendable(c))
        let per = ((extent + blocks - 1) / blocks + 15) / 16 * 16
        Parallel.forEach(blocks) { range in
            for block in range {
                let lo = block * per, hi = Swift.min(extent, lo + per)
                guard lo < hi else { continue }
                if splitRows {
                    // Rows lo..<hi of op(A): rows of A as stored, or columns when transposed.
                    let aBlock = pa.value + (transA == .none ? lo * lda : lo)
                    cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, blasint(hi - lo), blasint(n), blasint(k), alpha, aBlock,
                                blasint(lda), pb.value, blasint(ldb), beta, pc.value + lo * ldc, blasint(ldc))
                } else {
                    // Columns lo..<hi of op(B): columns of B as stored, or rows when transposed.
                    let bBlock = pb.value + (transB == .none ? lo : lo * ldb)
                    cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, blasint(m), blasint(hi - lo), blasint(k), alpha, pa.value,
                                blasint(lda), bBlock, blasint(ldb), beta, pc.value + lo, blasint(ldc))
                }
            }
        }
    }

    /// The number of threads OpenBLAS itself runs per call (`openblas_get_num_threads`): 1 once a
    /// product has run.
    static var libraryThreadCount: Int {
        configureOnce
        return Int(openblas_get_num_threads())
    }

    /// OpenBLAS's build description (`openblas_get_config`), e.g. for benchmark reports.
    static var configuration: String { String(cString: openblas_get_config()) }

    /// The CPU kernel OpenBLAS chose (`openblas_get_corename`).
    static var coreName: String { String(cString: openblas_get_corename()) }

    /// The OpenBLAS kernel family this CPU can run fastest, when OpenBLAS's own detection chose a
    /// generic one: OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeon/EPYC models (or
    /// virtual CPUs that hide the model) and falls back to SSE3 `Prescott` kernels, 4–5× slower
    /// than the AVX-512 (`SkylakeX`) or AVX2 (`Haswell`) ones the CPU supports. Nil when the chosen
    /// kernel is already specific, or the CPU has neither feature set.
    static var recommendedCoreType: String? {
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
    static func restartWithFastestKernelIfNeeded() -> String {
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
