// ReferFormer models/swin_transformer.py `PatchEmbed` and models/video_swin_transformer.py `PatchEmbed3D`.
import Tensor

/// `PatchEmbed` / `PatchEmbed3D` with patch (1,) 4×4: zero-pad the normalised frames right/bottom to
/// multiples of 4, conv 4×4 stride 4, optional LayerNorm over C. Keys `<prefix>.proj.weight`
/// (C, 3, 4, 4) or (C, 3, 1, 4, 4), `<prefix>.proj.bias`, `<prefix>.norm.*`.
struct PatchEmbedding: Sendable {
    var proj: Conv2d
    var norm: LayerNorm?
    let patch: Int

    init(weights: StateDict, prefix: String, dim: Int, patch: Int, video: Bool, patchNorm: Bool) {
        let shape = video ? [dim, 3, 1, patch, patch] : [dim, 3, patch, patch]
        let weight = weights.take("\(prefix).proj.weight", shape: shape).reshaped([dim, 3, patch, patch])
        proj = Conv2d(weight: weight, bias: weights.take("\(prefix).proj.bias", shape: [dim]), stride: patch, padding: 0)
        norm = patchNorm ? LayerNorm(weights: weights, prefix: "\(prefix).norm", dimension: dim) : nil
        self.patch = patch
    }

    /// frames (T, 3, H, W) → tokens (T·h·w, C) and dims (T, ⌈H/4⌉, ⌈W/4⌉).
    func callAsFunction(_ frames: Tensor) -> (Tensor, [Int]) {
        let (t, h, w) = (frames.shape[0], frames.shape[2], frames.shape[3])
        let (hp, wp) = ((h + patch - 1) / patch * patch, (w + patch - 1) / patch * patch)
        var input = frames
        if hp != h || wp != w {
            let source = frames.contiguous()
            input = source.withUnsafeBufferPointer { src in
                Tensor(shape: [t, 3, hp, wp]) { dst in
                    dst.initialize(repeating: 0)
                    for plane in 0..<(t * 3) {
                        for y in 0..<h {
                            let from = src.baseAddress! + (plane * h + y) * w
                            (dst.baseAddress! + (plane * hp + y) * wp).update(from: from, count: w)
                        }
                    }
                }
            }
        }
        let embedded = proj(input)  // (T, C, h, w)
        let dims = [t, embedded.shape[2], embedded.shape[3]]
        var tokens = embedded.channelsLast().reshaped([-1, embedded.shape[1]])
        norm?.apply(to: &tokens)
        return (tokens, dims)
    }
}
