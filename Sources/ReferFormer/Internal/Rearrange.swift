// The `einops.rearrange` patterns of models/referformer.py, as named helpers.
import Tensor

/// `rearrange(x, '(b t) c h w -> (t h w) b c')` with b = 1: per-pixel tokens, sequence-first.
func framesToTokens(_ x: Tensor) -> Tensor {
    let t = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    return x.permuted([0, 2, 3, 1]).reshaped([t * h * w, 1, c])
}

/// `rearrange(x, '(t h w) b c -> (b t) c h w')` with b = 1 (the inverse of `framesToTokens`).
/// The tiled transpose of `channelsFirst()` (a strided copy gathers one float per cache line).
func tokensToFrames(_ x: Tensor, frames t: Int, height h: Int, width w: Int) -> Tensor {
    let c = x.shape[2]
    return x.reshaped([t, h, w, c]).channelsFirst()
}
