// ReferFormer models/video_swin_transformer.py `SwinTransformer3D` as wrapped by that file's
// `VideoSwinTransformerBackbone` (eval): the clip is one video (`num_frames` = the clip's T), patch
// size 1 in time, 3-D windows that shrink to the map where it is not larger (`get_window_size`),
// PatchMerging moved out to `downsamples.{i}`, and no output norm.
import Tensor

/// The Video-Swin body (`backbone.0.body.*`). Frames are mixed: a frame's features depend on the other
/// frames of its clip, so a windowed runner re-runs this backbone per window.
struct VideoSwinTransformerBackbone: Sendable {
    var patchEmbed: PatchEmbedding
    var stages: [[SwinBlock]]
    var downsamples: [PatchMerging]
    /// The configured window (Wd, Wh, Ww).
    let window: [Int]

    init(weights: StateDict, prefix: String, description d: SwinDescription) throws(ReferFormerError) {
        precondition(d.video && d.windowSize.count == 3, "VideoSwinTransformerBackbone has 3-D windows")
        window = d.windowSize
        patchEmbed = PatchEmbedding(weights: weights, prefix: "\(prefix).patch_embed", dim: d.embedDim, patch: d.patchSize,
                                    video: true, patchNorm: d.patchNorm)
        var stages: [[SwinBlock]] = [], downsamples: [PatchMerging] = []
        for (i, depth) in d.depths.enumerated() {
            let dim = d.outChannels(stage: i)
            var blocks: [SwinBlock] = []
            for j in 0..<depth {
                blocks.append(try SwinBlock(weights: weights, prefix: "\(prefix).layers.\(i).blocks.\(j)", dim: dim, heads: d.numHeads[i],
                                            window: window, mlpHidden: Int(Double(dim) * d.mlpRatio)))
            }
            stages.append(blocks)
            if i < d.depths.count - 1 { downsamples.append(PatchMerging(weights: weights, prefix: "\(prefix).downsamples.\(i)", dim: dim)) }
        }
        self.stages = stages
        self.downsamples = downsamples
    }

    /// `get_window_size`: per dimension, a map not larger than the window (equality included) takes
    /// the map's size as window and no shift.
    static func effectiveWindow(dims: [Int], window: [Int], shift: [Int]) -> (window: [Int], shift: [Int]) {
        var w = window, s = shift
        for i in 0..<3 where dims[i] <= window[i] {
            w[i] = dims[i]
            s[i] = 0
        }
        return (w, s)
    }

    /// - Parameters: clip (T, 3, H, W) normalised frames of one clip; `record` as the 2-D Swin's
    ///   (`backbone.patch_embed`, `backbone.stage0.block0`, `backbone.stage{i}.merged`).
    /// - Returns: res2..res5, the raw stage outputs (T, C·2^i, h_i, w_i).
    func callAsFunction(_ clip: Tensor, record: ((String, Tensor) -> Void)? = nil) -> [Tensor] {
        var (x, dims) = patchEmbed(clip)
        record?("backbone.patch_embed", tokenMap(x, dims: dims))
        var outputs: [Tensor] = []
        let configuredShift = window.map { $0 / 2 }
        for (i, blocks) in stages.enumerated() {
            let (w, s) = Self.effectiveWindow(dims: dims, window: window, shift: configuredShift)
            let plain = WindowPlan(dims: dims, window: w, shift: [0, 0, 0])
            let shifted = s.contains(where: { $0 > 0 }) ? WindowPlan(dims: dims, window: w, shift: s) : plain
            for (j, block) in blocks.enumerated() {
                // Once per block and forward: the bias depends on the effective window's size.
                let bias = block.relativeBias(tokens: plain.tokens)
                x = block(x, plan: j % 2 == 0 ? plain : shifted, bias: bias)
                if i == 0 && j == 0 { record?("backbone.stage0.block0", tokenMap(x, dims: dims)) }
            }
            outputs.append(tokenMap(x, dims: dims))
            if i < downsamples.count {
                (x, dims) = downsamples[i](x, dims: dims)
                record?("backbone.stage\(i).merged", tokenMap(x, dims: dims))
            }
        }
        return outputs
    }
}
