// ReferFormer models/swin_transformer.py `SwinTransformer` (the Swin-Transformer-Object-Detection
// version, wrapped by that file's `Backbone`; eval): per-frame 2-D windows of a fixed size (a map
// smaller than the window is padded, never shrunk), PatchMerging inside `layers.{i}.downsample`, and
// `norm{i}` on each stage output.
import Tensor

/// The Swin body (`backbone.0.body.*`): patch embedding, 4 stages of blocks, PatchMerging between them,
/// output LayerNorms. Frames are independent (features are per frame).
struct SwinTransformerBackbone: Sendable {
    var patchEmbed: PatchEmbedding
    var stages: [[SwinBlock]]
    var downsamples: [PatchMerging]
    var outputNorms: [LayerNorm]
    /// Per stage and block, the (heads, W², W²) relative position bias (fixed: the window never shrinks).
    var biases: [[Tensor]]
    let window: Int

    init(weights: StateDict, prefix: String, description d: SwinDescription) throws(ReferFormerError) {
        precondition(!d.video && d.windowSize.count == 1, "SwinTransformerBackbone is the 2-D Swin")
        window = d.windowSize[0]
        patchEmbed = PatchEmbedding(weights: weights, prefix: "\(prefix).patch_embed", dim: d.embedDim, patch: d.patchSize,
                                    video: false, patchNorm: d.patchNorm)
        var stages: [[SwinBlock]] = [], downsamples: [PatchMerging] = [], norms: [LayerNorm] = []
        for (i, depth) in d.depths.enumerated() {
            let dim = d.outChannels(stage: i)
            var blocks: [SwinBlock] = []
            for j in 0..<depth {
                blocks.append(try SwinBlock(weights: weights, prefix: "\(prefix).layers.\(i).blocks.\(j)", dim: dim, heads: d.numHeads[i],
                                            window: [1, window, window], mlpHidden: Int(Double(dim) * d.mlpRatio)))
            }
            stages.append(blocks)
            if i < d.depths.count - 1 { downsamples.append(PatchMerging(weights: weights, prefix: "\(prefix).layers.\(i).downsample", dim: dim)) }
            norms.append(LayerNorm(weights: weights, prefix: "\(prefix).norm\(i)", dimension: dim))
        }
        self.stages = stages
        self.downsamples = downsamples
        outputNorms = norms
        biases = stages.map { $0.map { $0.relativeBias(tokens: $0.configuredTokens) } }
    }

    /// - Parameters: images (T, 3, H, W) normalised frames; `record` receives the golden backbone
    ///   intermediates (`backbone.patch_embed`, `backbone.stage0.block0`, `backbone.stage{i}.blocks`,
    ///   `backbone.stage{i}.merged`) as (T, C, h, w) maps.
    /// - Returns: res2..res5 = `norm{i}` of each stage, (T, C·2^i, h_i, w_i).
    func callAsFunction(_ images: Tensor, record: ((String, Tensor) -> Void)? = nil) -> [Tensor] {
        var (x, dims) = patchEmbed(images)
        record?("backbone.patch_embed", tokenMap(x, dims: dims))
        var outputs: [Tensor] = []
        for (i, blocks) in stages.enumerated() {
            let shift = window / 2
            let plain = WindowPlan(dims: dims, window: [1, window, window], shift: [0, 0, 0])
            let shifted = WindowPlan(dims: dims, window: [1, window, window], shift: [0, shift, shift])
            for (j, block) in blocks.enumerated() {
                x = block(x, plan: j % 2 == 0 || shift == 0 ? plain : shifted, bias: biases[i][j])
                if i == 0 && j == 0 { record?("backbone.stage0.block0", tokenMap(x, dims: dims)) }
            }
            record?("backbone.stage\(i).blocks", tokenMap(x, dims: dims))
            outputs.append(tokenMap(outputNorms[i](x), dims: dims))
            if i < downsamples.count {
                (x, dims) = downsamples[i](x, dims: dims)
                record?("backbone.stage\(i).merged", tokenMap(x, dims: dims))
            }
        }
        return outputs
    }
}
