// Reductions along one axis, and softmax.

extension Tensor {
    /// Views this tensor as (outer, n, inner) around `axis` (contiguous) and calls `body`.
    private func withReductionLayout<R>(_ axis: Int, _ body: (UnsafePointer<Float>, _ outer: Int, _ n: Int, _ inner: Int) -> R) -> R {
        let d = self.axis(axis)
        let outer = shape[..<d].reduce(1, *), n = shape[d], inner = shape[(d + 1)...].reduce(1, *)
        return withUnsafeBufferPointer { buffer in
            body(buffer.baseAddress ?? UnsafePointer(bitPattern: 64)!, outer, n, inner)
        }
    }

    private func reducedShape(_ axis: Int, keepDims: Bool) -> [Int] {
        let d = self.axis(axis)
        var s = shape
        if keepDims { s[d] = 1 } else { s.remove(at: d) }
        return s
    }

    /// Sum along `axis` (torch `sum(dim, keepdim)`); accumulates in Double.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let outShape = reducedShape(axis, keepDims: keepDims)
        return withReductionLayout(axis) { src, outer, n, inner in
            Tensor(shape: outShape) { dst in
                for o in 0..<outer {
                    for i in 0..<inner {
                        var s = 0.0
                        for k in 0..<n { s += Double(src[(o * n + k) * inner + i]) }
                        dst[o * inner + i] = Float(s)
                    }
                }
            }
        }
    }

    /// Mean along `axis` (torch `mean(dim, keepdim)`).
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        let n = shape[self.axis(axis)]
        return sum(axis: axis, keepDims: keepDims) / Float(n)
    }

    /// Maximum along `axis` (torch `amax`; NaN propagates).
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let outShape = reducedShape(axis, keepDims: keepDims)
        precondition(shape[self.axis(axis)] > 0, "max over an empty dimension of \(shape)")
        return withReductionLayout(axis) { src, outer, n, inner in
            Tensor(shape: outShape) { dst in
                for o in 0..<outer {
                    for i in 0..<inner {
                        var m = src[o * n * inner + i]
                        for k in 1..<Swift.max(n, 1) {
                            let v = src[(o * n + k) * inner + i]
                            if v > m || v.isNaN { m = v }
                            if m.isNaN { break }
                        }
                        dst[o * inner + i] = m
                    }
                }
            }
        }
    }

    /// Index of the maximum along `axis` for every position of the other dimensions, in row-major
    /// order of the reduced shape (first index on ties, like torch).
    public func argmax(axis: Int) -> [Int] {
        precondition(shape[self.axis(axis)] > 0, "argmax over an empty dimension of \(shape)")
        return withReductionLayout(axis) { src, outer, n, inner in
            var result = [Int](repeating: 0, count: outer * inner)
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = 0, m = src[o * n * inner + i]
                    if !m.isNaN {
                        for k in 1..<Swift.max(n, 1) {
                            let v = src[(o * n + k) * inner + i]
                            if v.isNaN { best = k; break }
                            if v > m { m = v; best = k }
                        }
                    }
                    result[o * inner + i] = best
                }
            }
            return result
        }
    }

    /// Softmax along `axis` (torch `softmax(dim)`): max-subtracted, so large logits are stable; a row
    /// that is entirely −inf gives NaN, as in torch.
    public func softmax(axis: Int) -> Tensor {
        let d = self.axis(axis)
        if d != rank - 1 {
            return transposed(d, -1).softmax(axis: -1).transposed(d, -1).contiguous()
        }
        let n = shape[d]
        let rows = n == 0 ? 0 : count / n
        return withUnsafeBufferPointer { src in
            Tensor(shape: shape) { dst in
                guard rows > 0, let s0 = src.baseAddress, let d0 = dst.baseAddress else { return }
                let ps = UncheckedSendable(s0), pd = UncheckedSendable(d0)
                Parallel.forEach(rows, minChunk: Swift.max(1, 8192 / n)) { range in
                    for r in range {
                        Tensor.softmaxRow(ps.value + r * n, pd.value + r * n, n)
                    }
                }
            }
        }
    }

    /// Softmax of `n` values from `src` into `dst` (may alias), max-subtracted like torch; a row of
    /// −∞ gives NaN, as torch does. Shared by `softmax(axis:)` and `multiheadAttention`'s score rows.
    @inline(__always)
    static func softmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n where src[i] > m || src[i].isNaN { m = src[i] }
        var sum: Float = 0
        for i in 0..<n {
            let e = expf(src[i] - m)
            dst[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<n { dst[i] *= inv }
    }
}

#if canImport(Glibc)
import Glibc
#endif
