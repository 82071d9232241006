// The `einops.rearrange` patterns of models/referformer.py, as named helpers.
import Tensor

/// `rearrange(x, '(b t) c h w -> (t h w) b c')` with b = 1: per-pixel tokens, sequence-first.
func framesToTokens(_ x: Tensor) -> Tensor {
    let t = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    return x.permuted([0, 2, 3, 1]).reshaped([t * h * w, 1, c])
}

/// `rearrange(x, '(t h w) b c -> (b t) c h w')` with b = 1 (the inverse of `framesToTokens`).
func tokensToFrames(_ x: Tensor, frames t: Int, height h: Int, width w: Int) -> Tensor {
    let c = x.shape[2]
    return x.reshaped([t, h, w, c]).permuted([0, 3, 1, 2]).contiguous()
}

extension Tensor {
    /// ReLU in place on a uniquely owned result (saves one allocation of a large FFN activation).
    mutating func applyReLU() {
        withUnsafeMutableBufferPointer { p in
            let base = UncheckedPointer(p.baseAddress!)
            Parallel.forEach(p.count, minChunk: 1 << 15) { range in
                let q = base.pointer
                for i in range { q[i] = Swift.max(q[i], 0) }
            }
        }
    }
}

extension Tensor {
    /// `self = relu(self + other)` in place (same shape), the bottleneck's residual join.
    mutating func addThenReLU(_ other: Tensor) {
        precondition(other.shape == shape, "addThenReLU: \(shape) vs \(other.shape)")
        other.withUnsafeBufferPointer { src in
            let s = UncheckedPointer(UnsafeMutablePointer(mutating: src.baseAddress!))
            withUnsafeMutableBufferPointer { p in
                let d = UncheckedPointer(p.baseAddress!)
                Parallel.forEach(p.count, minChunk: 1 << 15) { range in
                    let x = d.pointer, y = s.pointer
                    for i in range { x[i] = Swift.max(x[i] + y[i], 0) }
                }
            }
        }
    }
}

/// A pointer handed to `Parallel.forEach` chunks that touch disjoint elements.
struct UncheckedPointer: @unchecked Sendable {
    // Safety: the chunks of one `Parallel.forEach` write disjoint ranges, and the buffer outlives the
    // call (it returns only when every chunk has finished).
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
