import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Tensor

@Suite("BLAS entry point")
struct BLASTests {
    /// Deterministic uniform values in [-1, 1), so failures reproduce.
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = TestSupport.SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(generator.next() >> 40) / Float(1 << 23) - 1 }
    }

    static func naive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: [Float], b: [Float]) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * m + i] : a[i * k + p]
                    let bv = transB ? b[j * k + p] : b[p * n + j]
                    s += Double(av) * Double(bv)
                }
                c[i * n + j] = s
            }
        }
        return c
    }

    @Test("sgemm equals a naive product on non-square matrices", arguments: [
        (false, false, 37, 53, 29), (true, false, 64, 7, 131), (false, true, 5, 96, 17), (true, true, 41, 33, 70),
    ])
    func sgemmMatchesNaive(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int) {
        let a = Self.random(m * k, seed: 1), b = Self.random(k * n, seed: 2)
        var c = [Float](repeating: .nan, count: m * n)
        BLAS.sgemm(
            transA: transA ? .transposed : .none, transB: transB ? .transposed : .none, m: m, n: n, k: k,
            a: a, lda: transA ? m : k, b: b, ldb: transB ? k : n, c: &c, ldc: n)
        let reference = Self.naive(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b)
        var maxError = 0.0, norm = 0.0
        for (x, r) in zip(c, reference) {
            maxError = max(maxError, abs(Double(x) - r))
            norm = max(norm, abs(r))
        }
        #expect(maxError / norm < 1e-5, "relative error \(maxError / norm) for \(m)x\(n)x\(k)")
    }

    @Test("alpha and beta accumulate into C")
    func alphaBeta() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]  // 2x3
        let b: [Float] = [7, 8, 9, 10, 11, 12]  // 3x2
        var c: [Float] = [1, 1, 1, 1]
        BLAS.sgemm(m: 2, n: 2, k: 3, alpha: 2, a: a, lda: 3, b: b, ldb: 2, beta: 3, c: &c, ldc: 2)
        let expected: [Float] = [119, 131, 281, 311]  // 2·(A·B) + 3, A·B = [[58, 64], [139, 154]]
        #expect(c == expected)
    }

    @Test("a product split over workers equals the single call, by rows and by columns", arguments: [
        (false, false, 700, 90, 300), (true, true, 80, 900, 200), (false, true, 513, 515, 64),
    ])
    func splitMatchesSingleCall(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int) {
        let a = Self.random(m * k, seed: 3), b = Self.random(k * n, seed: 4)
        func product(threads: Int) -> [Float] {
            var c = [Float](repeating: 1, count: m * n)
            TensorRuntime.withThreadCount(threads) {
                BLAS.sgemm(transA: transA ? .transposed : .none, transB: transB ? .transposed : .none, m: m, n: n, k: k, alpha: 0.5,
                           a: a, lda: transA ? m : k, b: b, ldb: transB ? k : n, beta: 2, c: &c, ldc: n)
            }
            return c
        }
        let single = product(threads: 1)
        for threads in [2, 3, 5] {
            let split = product(threads: threads)
            let worst = zip(split, single).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4, "\(m)x\(n)x\(k) on \(threads) workers: max|Δ| \(worst)")
        }
    }

    @Test("thread counts are scoped per call, and OpenBLAS itself stays single-threaded")
    func scopedThreads() {
        let outside = TensorRuntime.threadCount
        TensorRuntime.withThreadCount(1) {
            #expect(TensorRuntime.threadCount == 1)
            TensorRuntime.withThreadCount(3) { #expect(TensorRuntime.threadCount == 3) }
            #expect(TensorRuntime.threadCount == 1)
        }
        #expect(TensorRuntime.threadCount == outside)
        _ = matmul(Tensor.ones([2, 2]), Tensor.ones([2, 2]))
        #expect(BLAS.libraryThreadCount == 1)
    }

    @Test("one thread's scoped thread count does not change another thread's")
    func perEngineThreads() {
        let outside = TensorRuntime.threadCount
        let inside = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let seen = Mutex<[Int]>([])
        // Engine A: a single-threaded scope held open while engine B (another thread) reads its own count.
        let a = Thread {
            TensorRuntime.withThreadCount(1) {
                _ = Tensor.ones([1, 4, 16, 16]).conv2d(weight: Tensor.ones([4, 4, 3, 3]), bias: nil, padding: 1)
                seen.withLock { $0.append(TensorRuntime.threadCount) }
                inside.signal()
                done.wait()
            }
        }
        a.start()
        inside.wait()
        let b = TensorRuntime.threadCount
        done.signal()
        #expect(seen.withLock { $0 } == [1])
        #expect(b == outside, "engine B sees \(b) workers while engine A is single-threaded; expected \(outside)")
    }
}
