// Comparison of a computed tensor with a golden one: max|a − g| ≤ tol · RMS(g) (golden README §6),
// with the worst elements listed on failure.
import Tensor

struct ParityReport: CustomStringConvertible {
    var name: String
    var shape: [Int]
    var maxAbs: Double
    var rms: Double
    var tolerance: Double
    var worst: [(index: [Int], value: Float, golden: Float)]
    var shapeMismatch: String?

    var ratio: Double { rms > 0 ? maxAbs / rms : maxAbs }
    var passed: Bool { shapeMismatch == nil && maxAbs <= tolerance * rms && !maxAbs.isNaN }

    var description: String {
        if let shapeMismatch { return "\(name): \(shapeMismatch)" }
        var s = "\(name) \(shape): max|Δ| = \(maxAbs), RMS(golden) = \(rms), max|Δ|/RMS = \(ratio) (tolerance \(tolerance))"
        if !passed {
            s += "; worst: " + worst.map { "\($0.index) got \($0.value) want \($0.golden)" }.joined(separator: ", ")
        }
        return s
    }

    static func compare(_ name: String, _ value: Tensor, _ golden: Tensor, tolerance: Double) -> ParityReport {
        guard value.shape == golden.shape else {
            return ParityReport(name: name, shape: golden.shape, maxAbs: .nan, rms: 0, tolerance: tolerance, worst: [],
                                shapeMismatch: "shape \(value.shape) vs golden \(golden.shape)")
        }
        let a = value.scalars, g = golden.scalars
        var sq = 0.0, maxAbs = 0.0
        var diffs: [(Int, Double)] = []
        for i in 0..<g.count {
            sq += Double(g[i]) * Double(g[i])
            let d = abs(Double(a[i]) - Double(g[i]))
            let dd = d.isNaN ? Double.infinity : d
            maxAbs = max(maxAbs, dd)
            diffs.append((i, dd))
        }
        let rms = (sq / Double(max(g.count, 1))).squareRoot()
        let worst = diffs.sorted { $0.1 > $1.1 }.prefix(5).map { (i, _) in (unravel(i, golden.shape), a[i], g[i]) }
        return ParityReport(name: name, shape: golden.shape, maxAbs: maxAbs, rms: rms, tolerance: tolerance, worst: worst, shapeMismatch: nil)
    }

    static func unravel(_ flat: Int, _ shape: [Int]) -> [Int] {
        var index = [Int](repeating: 0, count: shape.count)
        var rest = flat
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            index[d] = rest % max(shape[d], 1)
            rest /= max(shape[d], 1)
        }
        return index
    }
}
