import Testing
@testable import Tensor

@Suite("matmul, linear, layerNorm, frozen batch norm")
struct LinearAlgebraTests {
    static func naiveMatmul(_ a: Tensor, _ b: Tensor) -> [Double] {
        // (B, m, k) × (B, k, n) with both already at the same batch shape.
        let bsz = a.shape[0], m = a.shape[1], k = a.shape[2], n = b.shape[2]
        var out = [Double](repeating: 0, count: bsz * m * n)
        for q in 0..<bsz { for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += Double(a[q, i, p]) * Double(b[q, p, j]) }
            out[(q * m + i) * n + j] = s
        } } }
        return out
    }

    @Test("batched matmul with broadcasting and transposed operands equals a naive product")
    func matmulBatched() {
        let a = Tensor(shape: [3, 5, 7], elements: BLASTests.random(105, seed: 3))
        let b = Tensor(shape: [3, 6, 7], elements: BLASTests.random(126, seed: 4)).transposed()  // (3, 7, 6) strided
        let c = matmul(a, b)
        #expect(c.shape == [3, 5, 6])
        let ref = Self.naiveMatmul(a, b)
        for (x, r) in zip(c.scalars, ref) { #expect(abs(Double(x) - r) < 1e-5) }
        // Broadcast batch: (2, 1, 4, 3) × (5, 3, 2) → (2, 5, 4, 2).
        let p = Tensor(shape: [2, 1, 4, 3], elements: BLASTests.random(24, seed: 5))
        let q = Tensor(shape: [5, 3, 2], elements: BLASTests.random(30, seed: 6))
        let r = matmul(p, q)
        #expect(r.shape == [2, 5, 4, 2])
        var s = 0.0
        for t in 0..<3 { s += Double(p[1, 0, 2, t]) * Double(q[4, t, 1]) }
        #expect(abs(Double(r[1, 4, 2, 1]) - s) < 1e-6)
        // Shared right operand folds into one GEMM; vector operands.
        let w = Tensor(shape: [3, 2], elements: [1, 2, 3, 4, 5, 6])
        #expect(matmul(p, w).shape == [2, 1, 4, 2])
        let wT = Tensor(shape: [2, 3], elements: [1, 3, 5, 2, 4, 6]).transposed()  // = w, strided
        #expect(matmul(p, wT).scalars == matmul(p, w).scalars)
        #expect(matmul(p, wT.unsqueezed(0)).scalars == matmul(p, w).scalars)
        #expect(matmul(Tensor(shape: [3], elements: [1, 1, 1]), w).scalars == [9, 12])
        #expect(w.matmul(Tensor(shape: [2], elements: [1, -1])).scalars == [-1, -1, -1])
    }

    @Test("linear equals x·Wᵀ + b")
    func linear() {
        let x = Tensor(shape: [2, 2, 3], elements: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        let w = Tensor(shape: [2, 3], elements: [1, 0, -1, 0.5, 0.5, 0.5])
        let y = x.linear(weight: w, bias: Tensor(shape: [2], elements: [10, 20]))
        #expect(y.shape == [2, 2, 2])
        #expect(y.scalars == [8, 23, 8, 27.5, 8, 32, 8, 36.5])
        #expect(x.linear(weight: w, bias: nil).scalars == [-2, 3, -2, 7.5, -2, 12, -2, 16.5])
        // A row slice of a larger weight (in-projection style) is used in place.
        let big = Tensor(shape: [4, 3], elements: [0, 0, 0, 1, 0, -1, 0.5, 0.5, 0.5, 9, 9, 9])
        #expect(x.linear(weight: big.sliced(0, 1..<3), bias: nil).scalars == x.linear(weight: w, bias: nil).scalars)
    }

    @Test("layerNorm normalises the last dimension")
    func layerNorm() {
        let x = Tensor(shape: [2, 4], elements: [1, 2, 3, 4, 2, 2, 2, 2])
        let y = x.layerNorm(weight: Tensor(shape: [4], repeating: 2), bias: Tensor(shape: [4], repeating: 1), eps: 1e-5)
        let rstd = 1 / (1.25 + 1e-5).squareRoot()
        let expected = [-1.5, -0.5, 0.5, 1.5].map { Float($0 * rstd * 2 + 1) }
        for i in 0..<4 { #expect(abs(y[0, i] - expected[i]) < 1e-5) }
        #expect((0..<4).allSatisfy { y[1, $0] == 1 })
    }

    @Test("frozen batch norm and folding it into a convolution weight")
    func frozenBN() {
        let x = Tensor(shape: [1, 2, 1, 2], elements: [1, 2, 3, 4])
        let p = (w: Tensor(shape: [2], elements: [2, 1]), b: Tensor(shape: [2], elements: [0, 1]),
                 rm: Tensor(shape: [2], elements: [1, 0]), rv: Tensor(shape: [2], elements: [3, 0]))
        let y = x.frozenBatchNorm(weight: p.w, bias: p.b, runningMean: p.rm, runningVar: p.rv, eps: 1)
        #expect(y.scalars == [0, 1, 4, 5], "\(y.scalars)")
        let (fw, fb) = Tensor.foldBatchNorm(convWeight: Tensor(shape: [2, 1, 1, 1], elements: [3, 5]), convBias: nil,
                                            weight: p.w, bias: p.b, runningMean: p.rm, runningVar: p.rv, eps: 1)
        #expect(fw.scalars == [3, 5] && fb.scalars == [-1, 1])
    }
}
