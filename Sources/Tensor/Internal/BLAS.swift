// The only file that imports COpenBLAS: every matrix product in ReferStream goes through `BLAS.sgemm`.
import COpenBLAS

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

    /// The number of threads OpenBLAS uses for one call (`openblas_get_num_threads`).
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses (`openblas_set_num_threads`); values below 1 mean 1.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// OpenBLAS's build description (`openblas_get_config`), e.g. for benchmark reports.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// The CPU kernel OpenBLAS chose (`openblas_get_corename`).
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
