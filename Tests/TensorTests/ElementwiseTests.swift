import Foundation
import Testing
@testable import Tensor

@Suite("Element-wise ops, reductions, softmax")
struct ElementwiseTests {
    @Test("broadcasting follows NumPy rules, including strided operands")
    func broadcasting() {
        let a = Tensor(shape: [2, 3, 1], elements: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [4], elements: [10, 20, 30, 40])
        let s = a + b
        #expect(s.shape == [2, 3, 4])
        #expect(s[1, 2, 3] == 46 && s[0, 1, 0] == 12)
        let t = Tensor(shape: [3, 2], elements: [1, 2, 3, 4, 5, 6]).transposed()  // (2, 3), strided
        let u = t * Tensor(shape: [3], elements: [1, 10, 100])
        #expect(u.scalars == [1, 30, 500, 2, 40, 600])
        #expect((Tensor(shape: [2], elements: [6, 8]) / Tensor(scalar: 2)).scalars == [3, 4])
        #expect((1 - Tensor(shape: [2], elements: [0.25, 2])).scalars == [0.75, -1])
        #expect((Tensor(shape: [2], elements: [1, 2]) - 1).scalars == [0, 1])
        #expect((2 * Tensor(shape: [2], elements: [1, 2])).scalars == [2, 4])
        let big = Tensor(shape: [300, 257], repeating: 1) + Tensor(shape: [257], elements: (0..<257).map(Float.init))
        #expect(big[299, 256] == 257 && big[123, 7] == 8)
        let same = Tensor(shape: [70000], repeating: 2) * Tensor(shape: [70000], repeating: 3)
        #expect(same.scalars.allSatisfy { $0 == 6 })
    }

    @Test("activations against scalar formulas")
    func activations() {
        let x = Tensor(shape: [5], elements: [-3, -0.5, 0, 0.5, 3])
        #expect(x.relu().scalars == [0, 0, 0, 0.5, 3])
        for (v, g) in zip(x.scalars, x.gelu().scalars) {
            let ref = Double(v) * 0.5 * (1 + erf(Double(v) / 2.0.squareRoot()))
            #expect(abs(Double(g) - ref) < 1e-6, "gelu(\(v)) = \(g), expected \(ref)")
        }
        for (v, s) in zip(x.scalars, x.sigmoid().scalars) {
            #expect(abs(Double(s) - 1 / (1 + Foundation.exp(-Double(v)))) < 1e-6)
        }
        #expect(abs(x.tanh()[4] - Float(Foundation.tanh(3.0))) < 1e-6)
        #expect(x.clamped(min: -1, max: 1).scalars == [-1, -0.5, 0, 0.5, 1])
        #expect(Tensor(shape: [2], elements: [4, 9]).sqrt().scalars == [2, 3])
        #expect(abs(Tensor(scalar: 1).exp().log()[] - 1) < 1e-6)
    }

    @Test("sum, mean, max, argmax along an axis")
    func reductions() {
        let x = Tensor(shape: [2, 3], elements: [1, 5, 3, 4, 2, 6])
        #expect(x.sum(axis: 1).scalars == [9, 12])
        #expect(x.sum(axis: 0, keepDims: true).shape == [1, 3])
        #expect(x.mean(axis: 0).scalars == [2.5, 3.5, 4.5])
        #expect(x.max(axis: 1).scalars == [5, 6])
        #expect(x.argmax(axis: 1) == [1, 2])
        #expect(x.argmax(axis: 0) == [1, 0, 1])
        #expect(Tensor(shape: [3], elements: [2, 7, 7]).argmax(axis: 0) == [1])
    }

    @Test("softmax: any axis, stable for large logits, NaN for all −inf rows")
    func softmax() {
        let x = Tensor(shape: [2, 3], elements: [1, 2, 3, 1000, 1000, -Float.infinity])
        let s = x.softmax(axis: -1)
        let e = [Foundation.exp(-2.0), Foundation.exp(-1.0), 1.0]
        let z = e.reduce(0, +)
        for i in 0..<3 { #expect(abs(Double(s[0, i]) - e[i] / z) < 1e-6) }
        #expect(s[1, 0] == 0.5 && s[1, 1] == 0.5 && s[1, 2] == 0)
        let allInf = Tensor(shape: [1, 2], elements: [-.infinity, -.infinity]).softmax(axis: 1)
        #expect(allInf.scalars.allSatisfy { $0.isNaN })
        let col = x.sliced(1, 0..<2).softmax(axis: 0)
        #expect(col[0, 0] == 0 && col[1, 0] == 1)
    }
}
