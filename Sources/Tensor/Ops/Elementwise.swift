// Element-wise arithmetic with NumPy/PyTorch broadcasting, activations and other unary maps.
//
// The kernels are generic over small operation types (`BinaryFloatOp`, `UnaryFloatOp`) rather than
// closures so that the optimiser specialises and inlines every operation into its loop.

#if canImport(Glibc)
import Glibc
#endif

/// An element-wise binary operation (specialised into the broadcasting kernel).
public protocol BinaryFloatOp {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// An element-wise unary operation (specialised into the map kernel).
public protocol UnaryFloatOp {
    func callAsFunction(_ x: Float) -> Float
}

struct AddOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
struct SubOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
struct MulOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
struct DivOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
struct MaxOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) } }
struct MinOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.min(a, b) } }

/// `op(x, s)` or `op(s, x)` with a fixed scalar `s`.
struct ScalarRight<Op: BinaryFloatOp>: UnaryFloatOp {
    let op: Op, s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { op(x, s) }
}
struct ScalarLeft<Op: BinaryFloatOp>: UnaryFloatOp {
    let op: Op, s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { op(s, x) }
}

struct ReLUOp: UnaryFloatOp { @inline(__always) func callAsFunction(_ x: Float) -> Float { x.isNaN ? x : (x > 0 ? x : 0) } }
/// Exact GELU, `x · ½ · (1 + erf(x / √2))` (torch `F.gelu`, approximate='none').
struct GELUOp: UnaryFloatOp { @inline(__always) func callAsFunction(_ x: Float) -> Float { x * 0.5 * (1 + erff(x * 0.70710678118654752)) } }
struct SigmoidOp: UnaryFloatOp { @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / (1 + expf(-x)) } }
struct TanhOp: UnaryFloatOp { @inline(__always) func callAsFunction(_ x: Float) -> Float { tanhf(x) } }
struct ExpOp: UnaryFloatOp { @inline(__always) func callAsFunction(_ x: Float) -> Float { expf(x) } }
struct LogOp: UnaryFloatOp { @inline(__always) func callAsFunction(_ x: Float) -> Float { logf(x) } }
struct SqrtOp: UnaryFloatOp { @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() } }
struct NegOp: UnaryFloatOp { @inline(__always) func callAsFunction(_ x: Float) -> Float { -x } }
struct ClampOp: UnaryFloatOp {
    let lo: Float, hi: Float
    // torch.clamp propagates NaN.
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x.isNaN ? x : Swift.min(Swift.max(x, lo), hi) }
}
/// Official `util.misc.inverse_sigmoid`: `x = clamp(x, 0, 1)`, `log(max(x, eps) / max(1 − x, eps))`.
struct InverseSigmoidOp: UnaryFloatOp {
    let eps: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        let c = x.isNaN ? x : Swift.min(Swift.max(x, 0), 1)
        let x1 = c.isNaN ? c : Swift.max(c, eps)
        let x2 = c.isNaN ? c : Swift.max(1 - c, eps)
        return logf(x1 / x2)
    }
}

/// Element counts below this run on the calling thread.
let elementwiseParallelThreshold = 1 << 15

extension Tensor {
    // MARK: Broadcasting

    /// The broadcast shape of `a` and `b` (NumPy rules: align trailing dimensions; sizes equal or 1).
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let r = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let ia = i - (r - a.count), ib = i - (r - b.count)
            let da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1
            precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) cannot be broadcast together")
            out[i] = da == 1 ? db : da
        }
        return out
    }

    // MARK: Kernels

    /// `op` applied to every element (result contiguous).
    @inline(__always)
    public func map<Op: UnaryFloatOp>(_ op: Op) -> Tensor {
        let n = count
        return withUnsafeBufferPointer { src in
            Tensor(shape: shape) { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                let source = UncheckedSendable(s), destination = UncheckedSendable(d)
                Parallel.forEach(n, minChunk: n >= elementwiseParallelThreshold ? 1 << 14 : n) { range in
                    let s = source.value, d = destination.value
                    for i in range { d[i] = op(s[i]) }
                }
            }
        }
    }

    /// `op(a, b)` with broadcasting (result contiguous, shape = broadcast shape).
    @inline(__always)
    public static func zipWith<Op: BinaryFloatOp>(_ a: Tensor, _ b: Tensor, _ op: Op) -> Tensor {
        if a.shape == b.shape && a.isContiguous && b.isContiguous {
            let n = a.count
            return Tensor(shape: a.shape) { dst in
                guard n > 0 else { return }
                let pa = UncheckedSendable(UnsafePointer(a.storage.base + a.offset))
                let pb = UncheckedSendable(UnsafePointer(b.storage.base + b.offset))
                let pd = UncheckedSendable(dst.baseAddress!)
                withExtendedLifetime((a, b)) {
                    Parallel.forEach(n, minChunk: n >= elementwiseParallelThreshold ? 1 << 14 : n) { range in
                        let x = pa.value, y = pb.value, d = pd.value
                        for i in range { d[i] = op(x[i], y[i]) }
                    }
                }
            }
        }
        if b.rank == 0 || b.count == 1 && b.rank <= a.rank {
            let s = b.storage.base[b.offset]
            return a.map(ScalarRight(op: op, s: s)).reshaped(broadcastShape(a.shape, b.shape))
        }
        if a.rank == 0 || a.count == 1 && a.rank <= b.rank {
            let s = a.storage.base[a.offset]
            return b.map(ScalarLeft(op: op, s: s)).reshaped(broadcastShape(a.shape, b.shape))
        }
        let outShape = broadcastShape(a.shape, b.shape)
        let ea = a.expanded(to: outShape), eb = b.expanded(to: outShape)
        // Merge dimensions that are contiguous with their successor in both operands, so the inner
        // loop runs as long as possible.
        var dims: [(n: Int, sa: Int, sb: Int)] = []
        for i in 0..<outShape.count where outShape[i] != 1 {
            let d = (n: outShape[i], sa: ea.strides[i], sb: eb.strides[i])
            if let last = dims.last, last.sa == d.sa * d.n, last.sb == d.sb * d.n {
                dims[dims.count - 1] = (last.n * d.n, d.sa, d.sb)
            } else {
                dims.append(d)
            }
        }
        if dims.isEmpty { dims = [(1, 0, 0)] }
        let inner = dims[dims.count - 1]
        let outer = Array(dims.dropLast())
        let rows = outer.reduce(1) { $0 * $1.n }
        let total = rows * inner.n
        return Tensor(shape: outShape) { dst in
            guard total > 0 else { return }
            let pa = UncheckedSendable(UnsafePointer(ea.storage.base))
            let pb = UncheckedSendable(UnsafePointer(eb.storage.base))
            let pd = UncheckedSendable(dst.baseAddress!)
            let oa = ea.offset, ob = eb.offset
            let minRows = Swift.max(1, (1 << 14) / Swift.max(inner.n, 1))
            withExtendedLifetime((ea, eb)) {
                Parallel.forEach(rows, minChunk: total >= elementwiseParallelThreshold ? minRows : rows) { range in
                    let x = pa.value, y = pb.value, d = pd.value
                    // Odometer over the outer dimensions, starting at range.lowerBound.
                    var index = [Int](repeating: 0, count: outer.count)
                    var offA = oa, offB = ob
                    var r = range.lowerBound
                    for k in stride(from: outer.count - 1, through: 0, by: -1) {
                        index[k] = r % outer[k].n
                        r /= outer[k].n
                        offA += index[k] * outer[k].sa
                        offB += index[k] * outer[k].sb
                    }
                    let n = inner.n, sa = inner.sa, sb = inner.sb
                    for row in range {
                        let out = d + row * n
                        let xa = x + offA, yb = y + offB
                        if sa == 1 && sb == 1 {
                            for i in 0..<n { out[i] = op(xa[i], yb[i]) }
                        } else if sa == 1 && sb == 0 {
                            let v = yb[0]
                            for i in 0..<n { out[i] = op(xa[i], v) }
                        } else if sa == 0 && sb == 1 {
                            let v = xa[0]
                            for i in 0..<n { out[i] = op(v, yb[i]) }
                        } else {
                            for i in 0..<n { out[i] = op(xa[i * sa], yb[i * sb]) }
                        }
                        var k = outer.count - 1
                        while k >= 0 {
                            index[k] += 1
                            offA += outer[k].sa
                            offB += outer[k].sb
                            if index[k] < outer[k].n { break }
                            offA -= outer[k].sa * outer[k].n
                            offB -= outer[k].sb * outer[k].n
                            index[k] = 0
                            k -= 1
                        }
                    }
                }
            }
        }
    }

    // MARK: Operators

    public static func + (a: Tensor, b: Tensor) -> Tensor { zipWith(a, b, AddOp()) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { zipWith(a, b, SubOp()) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { zipWith(a, b, MulOp()) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { zipWith(a, b, DivOp()) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map(ScalarRight(op: AddOp(), s: s)) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.map(ScalarRight(op: SubOp(), s: s)) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map(ScalarRight(op: MulOp(), s: s)) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.map(ScalarRight(op: DivOp(), s: s)) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.map(ScalarLeft(op: AddOp(), s: s)) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.map(ScalarLeft(op: SubOp(), s: s)) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map(ScalarLeft(op: MulOp(), s: s)) }
    public static func / (s: Float, a: Tensor) -> Tensor { a.map(ScalarLeft(op: DivOp(), s: s)) }
    public static prefix func - (a: Tensor) -> Tensor { a.map(NegOp()) }

    /// Element-wise maximum with broadcasting (torch `maximum`, NaN-propagating).
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor { zipWith(a, b, MaxOp()) }
    /// Element-wise minimum with broadcasting (torch `minimum`, NaN-propagating).
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor { zipWith(a, b, MinOp()) }

    // MARK: Activations and unary maps

    public func relu() -> Tensor { map(ReLUOp()) }
    /// Exact (erf) GELU, torch `F.gelu(x)`.
    public func gelu() -> Tensor { map(GELUOp()) }
    public func sigmoid() -> Tensor { map(SigmoidOp()) }
    public func tanh() -> Tensor { map(TanhOp()) }
    public func exp() -> Tensor { map(ExpOp()) }
    public func log() -> Tensor { map(LogOp()) }
    public func sqrt() -> Tensor { map(SqrtOp()) }
    /// torch `clamp(min, max)`; either bound may be omitted.
    public func clamped(min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor { map(ClampOp(lo: lo, hi: hi)) }
    /// Official `util.misc.inverse_sigmoid(x, eps)`: `log(clamp(x, eps) / clamp(1 − x, eps))` after
    /// clamping x to [0, 1].
    public func inverseSigmoid(eps: Float = 1e-5) -> Tensor { map(InverseSigmoidOp(eps: eps)) }
}

// MARK: In-place forms (no new activation buffer when the tensor owns its storage)

extension Tensor {
    /// `self = relu(self)` in place (torch `relu_`).
    public mutating func applyReLU() {
        withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            let d = UncheckedSendable(base)
            Parallel.forEach(p.count, minChunk: 1 << 15) { range in
                let x = d.value
                for i in range { x[i] = ReLUOp()(x[i]) }
            }
        }
    }

    /// `self = relu(self + other)` in place, `other` of the same shape (a residual join).
    public mutating func applyAddReLU(_ other: Tensor) {
        precondition(other.shape == shape, "applyAddReLU: \(shape) vs \(other.shape)")
        other.withUnsafeBufferPointer { src in
            withUnsafeMutableBufferPointer { p in
                guard let base = p.baseAddress, let s0 = src.baseAddress else { return }
                let d = UncheckedSendable(base), s = UncheckedSendable(s0)
                Parallel.forEach(p.count, minChunk: 1 << 15) { range in
                    let x = d.value, y = s.value
                    for i in range { x[i] = ReLUOp()(x[i] + y[i]) }
                }
            }
        }
    }
}
