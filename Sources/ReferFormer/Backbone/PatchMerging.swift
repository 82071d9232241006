// ReferFormer models/swin_transformer.py and models/video_swin_transformer.py `PatchMerging`.
import Tensor

/// `PatchMerging`: pad odd h/w at the bottom/right, concatenate `[x(2i,2j), x(2i+1,2j), x(2i,2j+1),
/// x(2i+1,2j+1)]` (4C), LayerNorm(4C), Linear(4C → 2C, no bias). Keys `<prefix>.norm`, `<prefix>.reduction`.
struct PatchMerging: Sendable {
    var norm: LayerNorm
    var reduction: Linear

    init(weights: StateDict, prefix: String, dim: Int) {
        norm = LayerNorm(weights: weights, prefix: "\(prefix).norm", dimension: 4 * dim)
        reduction = Linear(weights: weights, prefix: "\(prefix).reduction", inFeatures: 4 * dim, outFeatures: 2 * dim, bias: false)
    }

    /// x (D·H·W, C) → ((D·⌈H/2⌉·⌈W/2⌉), 2C) and the new dims.
    func callAsFunction(_ x: Tensor, dims: [Int]) -> (Tensor, [Int]) {
        let (d, h, w) = (dims[0], dims[1], dims[2])
        let (h2, w2) = ((h + 1) / 2, (w + 1) / 2)
        var indices = [Int32]()
        indices.reserveCapacity(d * h2 * w2 * 4)
        for t in 0..<d { for i in 0..<h2 { for j in 0..<w2 {
            for (dy, dx) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (y, xx) = (2 * i + dy, 2 * j + dx)
                indices.append(y < h && xx < w ? Int32((t * h + y) * w + xx) : -1)
            }
        }}}
        let c = x.shape[1]
        var merged = x.gatheringRowsOrZeros(indices).reshaped([-1, 4 * c])
        norm.apply(to: &merged)
        return (reduction(merged), [d, h2, w2])
    }
}
