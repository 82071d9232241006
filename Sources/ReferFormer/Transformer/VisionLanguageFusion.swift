// ReferFormer models/referformer.py `input_proj` (1×1 conv + GroupNorm(32) per level, 3×3 s2 conv on res5
// for the extra level) and models/referformer.py `VisionLanguageFusionModule` (`tgt * MHA(tgt, memory + pos, memory)`).
import Tensor

/// `input_proj.{l}`: `.0` Conv2d (with bias), `.1` GroupNorm(32).
struct InputProjection: Sendable {
    var conv: Conv2d
    var norm: GroupNorm

    init(weights: StateDict, prefix: String, inChannels: Int, hiddenDim: Int, kernel: Int, stride: Int, padding: Int) {
        conv = Conv2d(weights: weights, prefix: "\(prefix).0", inChannels: inChannels, outChannels: hiddenDim,
                      kernel: kernel, stride: stride, padding: padding)
        norm = GroupNorm(weights: weights, prefix: "\(prefix).1", groups: ReferFormerConfiguration.inputProjectionGroups, channels: hiddenDim)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { norm(conv(x)) }
}

/// `fusion_module`: `multihead_attn` (8 heads). Each visual token attends to the words only, so the
/// fusion is per pixel; the product (no residual, no norm) is the official behaviour.
struct VisionLanguageFusion: Sendable {
    var multiheadAttn: MultiheadAttention

    init(weights: StateDict, prefix: String, hiddenDim: Int) {
        multiheadAttn = MultiheadAttention(weights: weights, prefix: "\(prefix).multihead_attn", embedDim: hiddenDim,
                                           heads: ReferFormerConfiguration.fusionHeads)
    }

    /// - Parameters:
    ///   - src: (T, C, h, w) projected visual features.
    ///   - words: (L, 1, C) word features; `wordsPos` (L, 1, C) their 1-D sine positions.
    /// - Returns: `src ⊙ MHA(src, words + pos, words)`, (T, C, h, w).
    func callAsFunction(_ src: Tensor, words: Tensor, wordsPos: Tensor, keyPaddingMask: [Bool]?) -> Tensor {
        let t = src.shape[0], c = src.shape[1], h = src.shape[2], w = src.shape[3]
        // rearrange '(b t) c h w -> (t h w) b c' with b = 1
        // (channelsLast: a tiled transpose, not the strided copy a reshape of the permuted view makes)
        let tokens = src.channelsLast().reshaped([t * h * w, 1, c])
        let attended = multiheadAttn(query: tokens, key: words + wordsPos, value: words,
                                     keyPaddingMask: keyPaddingMask.map { [$0] })
        return src * tokensToFrames(attended, frames: src.shape[0], height: src.shape[2], width: src.shape[3])
    }
}
