import Foundation
import Testing
import TestSupport
@testable import Tensor

/// `windowAttention` and the window row gathers against a naive float64 evaluation of Swin's
/// `WindowAttention` formula (scores = scale·q·kᵀ + bias + mask[b % M], softmax, · v, heads concatenated).
@Suite("Windowed attention")
struct WindowAttentionTests {
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var generator = TestSupport.SplitMix64(seed: seed)
        return (0..<count).map { _ in Float(generator.next() >> 40) / Float(1 << 23) - 1 }
    }

    @Test("matches the naive formula, with and without a mask, several windows and heads",
          arguments: [(6, 7, 3, 4, 2), (4, 5, 2, 8, 0), (1, 49, 3, 5, 1)])
    func attention(_ windows: Int, _ n: Int, _ heads: Int, _ d: Int, _ maskCount: Int) throws {
        let c = heads * d
        let qkv = Self.random(windows * n * 3 * c, seed: 1)
        let bias = Self.random(heads * n * n, seed: 2)
        // A mask of 0 / −100 by token parity per mask window.
        var mask: [Float] = []
        for m in 0..<maskCount { for i in 0..<n { for j in 0..<n { mask.append((i + j + m) % 3 == 0 ? -100 : 0) } } }
        let scale: Float = 1 / Float(d).squareRoot()
        let out = windowAttention(qkv: Tensor(shape: [windows, n, 3 * c], elements: qkv), heads: heads,
                                  bias: Tensor(shape: [heads, n, n], elements: bias),
                                  mask: maskCount > 0 ? Tensor(shape: [maskCount, n, n], elements: mask) : nil, scale: scale)
        #expect(out.shape == [windows, n, c])
        let got = out.scalars
        var worst = 0.0
        for w in 0..<windows {
            for h in 0..<heads {
                for i in 0..<n {
                    var scores = [Double](repeating: 0, count: n)
                    for j in 0..<n {
                        var s = 0.0
                        for e in 0..<d { s += Double(qkv[(w * n + i) * 3 * c + h * d + e]) * Double(qkv[(w * n + j) * 3 * c + c + h * d + e]) }
                        scores[j] = s * Double(scale) + Double(bias[(h * n + i) * n + j])
                        if maskCount > 0 { scores[j] += Double(mask[((w % maskCount) * n + i) * n + j]) }
                    }
                    let top = scores.max()!
                    let weights = scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for e in 0..<d {
                        var value = 0.0
                        for j in 0..<n { value += weights[j] / total * Double(qkv[(w * n + j) * 3 * c + 2 * c + h * d + e]) }
                        worst = max(worst, abs(value - Double(got[(w * n + i) * c + h * d + e])))
                    }
                }
            }
        }
        #expect(worst < 2e-6, "max |Δ| \(worst)")
    }

    @Test("gatheringRowsOrZeros pads with zero rows; addRows adds the gathered rows back")
    func gathers() throws {
        let x = Tensor(shape: [3, 2], elements: [1, 2, 3, 4, 5, 6])
        let gathered = x.gatheringRowsOrZeros([2, -1, 0, 0])
        #expect(gathered.shape == [4, 2] && gathered.scalars == [5, 6, 0, 0, 1, 2, 1, 2])
        var y = x
        y.addRows(of: gathered, at: [0, 2, 3])
        #expect(y.scalars == [6, 8, 4, 6, 6, 8])
        #expect(x.scalars == [1, 2, 3, 4, 5, 6], "copy on write: the source is unchanged")
    }
}
