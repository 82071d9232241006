// ReferFormer models/segmentation.py, CrossModalFPNDecoder (norm="GN": GroupNorm(8), conv_dim = hidden_dim)
import Tensor

/// The cross-modal pixel decoder (`pixel_decoder.*`): a top-down FPN whose every level first passes
/// through a `VisionLanguageBlock`, producing the stride-4 mask features.
///
/// Stages, top-down (suffix k of the official modules: 1 = stride 4 … 4 = stride 32):
///
/// | stage | input of the adapter | modules | sr |
/// |---|---|---|---|
/// | 1 | encoder memory map, stride 32 | adapter_4, cross_attn_4, layer_4 | 1 |
/// | 2 | encoder memory map, stride 16 | adapter_3, cross_attn_3, layer_3 | 2 |
/// | 3 | encoder memory map, stride 8  | adapter_2, cross_attn_2, layer_2 | 4 |
/// | 4 | backbone res2 (stride 4)      | adapter_1, cross_attn_1, layer_1 | 8 |
///
/// Each stage: `cur = VLB(GN8(adapter(x)))`, `y = ReLU(GN8(layer(cur + nearest(y))))` (no `+ y` at
/// stage 1; `nearest` is torch's legacy nearest resize to cur's size); finally
/// `mask_features = conv3x3(y) + bias`. Adapters and layers have no bias (`norm="GN"`).
///
/// Computation is channels-last inside (`ImageLayout.channelsLast` ops of `Tensor`); inputs and
/// outputs are NCHW.
public struct CrossModalFPNDecoder: Sendable {
    /// `adapter_{k}` (1×1 conv, no bias, + GroupNorm(8)), k = 1…4 at index k−1; input res2 for k = 1.
    var adapters: [Conv2dGroupNorm]
    /// `layer_{k}` (3×3 conv, no bias, + GroupNorm(8), ReLU), k = 1…4 at index k−1.
    var layers: [Conv2dGroupNorm]
    /// `cross_attn_{k}`, k = 1…4 at index k−1.
    var crossAttns: [VisionLanguageBlock]
    /// `mask_features` (3×3 conv with bias).
    var maskFeatures: Conv2d

    public let hiddenDim: Int
    public let maskDim: Int
    /// GroupNorm groups of adapters and layers (8 in the official `get_norm("GN")`).
    public static let groupNormGroups = 8
    /// Self-attention spatial-reduction ratios of cross_attn_1…4 (hard-coded upstream).
    public static let srRatios = [8, 4, 2, 1]

    /// - Parameters:
    ///   - weights: the checkpoint; keys under `prefix` (`pixel_decoder`) are taken.
    ///   - hiddenDim: `hidden_dim` (conv_dim, 256); `maskDim`: `mask_dim` (256);
    ///     `ffnDim`: `dim_feedforward` (2048); `heads`: 8 (hard-coded upstream).
    ///   - res2Channels: channels of backbone res2 (`backbone.num_channels[0]`, 256 for ResNet-50).
    public init(weights: StateDict, prefix: String = "pixel_decoder", hiddenDim c: Int, maskDim: Int,
                ffnDim: Int, heads: Int = 8, res2Channels: Int) {
        let groups = Self.groupNormGroups
        adapters = (1...4).map { k in
            Conv2dGroupNorm(weights: weights, prefix: "\(prefix).adapter_\(k)", inChannels: k == 1 ? res2Channels : c,
                            outChannels: c, kernel: 1, groups: groups, layout: .channelsLast)
        }
        layers = (1...4).map { k in
            Conv2dGroupNorm(weights: weights, prefix: "\(prefix).layer_\(k)", inChannels: c, outChannels: c, kernel: 3,
                            groups: groups, layout: .channelsLast)
        }
        crossAttns = (1...4).map { k in
            VisionLanguageBlock(weights: weights, prefix: "\(prefix).cross_attn_\(k)", hiddenDim: c, ffnDim: ffnDim,
                                heads: heads, srRatio: Self.srRatios[k - 1])
        }
        maskFeatures = Conv2d(weights: weights, prefix: "\(prefix).mask_features", inChannels: c, outChannels: maskDim,
                              kernel: 3, padding: 1, layout: .channelsLast)
        hiddenDim = c
        self.maskDim = maskDim
    }

    /// Runs the pixel decoder on one clip (batch of one caption).
    ///
    /// - Parameters:
    ///   - res2: backbone layer1 output (T, res2Channels, h₄, w₄).
    ///   - memory: the encoder memory reshaped to maps, strides 8, 16, 32, each (T, C, h, w) (any
    ///     strides, e.g. permuted views of the encoder's token matrix).
    ///   - positions: 2-D sine position encodings of res2, res3, res4, res5 (`PositionEmbeddingSine2D`,
    ///     num_pos_feats C/2), each (1 or T, C, h, w) — without level embedding.
    ///   - words: word features (1, L, C) (`text.word_features`).
    ///   - textPaddingMask: L flags, true = padding (`attention_mask != 1`); nil = no padding.
    ///   - textPosition: the 1-D sine text encoding (1, C, L) (`PositionEmbeddingSine1D(C)`).
    ///   - record: receives every intermediate under the golden names (`pixel_decoder.stage{k}.adapter`,
    ///     `.vlb`, `.out`, NCHW); nil skips the conversions.
    /// - Returns: `mask_features` (T, maskDim, h₄, w₄).
    public func callAsFunction(
        res2: Tensor, memory: [Tensor], positions: [Tensor], words: Tensor, textPaddingMask: [Bool]?,
        textPosition: Tensor, record: ((String, Tensor) -> Void)? = nil
    ) -> Tensor {
        let text = textTokens(words: words, textPosition: textPosition)
        return topDown(res2: res2, memory: memory, positions: positions, record: record) { level, adapted, position in
            crossAttns[level](adapted, position: position, words: text.words, textKeys: text.keys, textPaddingMask: textPaddingMask)
        }
    }

    /// The words sequence-first (L, 1, C) for the blocks' cross-attention, and the keys words + text position.
    func textTokens(words: Tensor, textPosition: Tensor) -> (words: Tensor, keys: Tensor) {
        let c = hiddenDim
        precondition(words.rank == 3 && words.shape[0] == 1 && words.shape[2] == c, "words \(words.shape), expected (1, L, \(c))")
        let l = words.shape[1]
        precondition(textPosition.shape == [1, c, l], "text position \(textPosition.shape), expected (1, \(c), \(l))")
        let wordTokens = words.reshaped([l, 1, c]).contiguous()
        return (wordTokens, wordTokens + textPosition.reshaped([c, l]).transposed(0, 1).reshaped([l, 1, c]))
    }

    /// The FPN around the blocks: adapters, `block(level, adapted, position)` (channels-last (T, h, w, C)
    /// in and out; `level` indexes the module arrays), top-down sums, layers and the mask-feature conv.
    func topDown(res2: Tensor, memory: [Tensor], positions: [Tensor], record: ((String, Tensor) -> Void)?,
                 block: (_ level: Int, _ adapted: Tensor, _ position: Tensor) -> Tensor) -> Tensor {
        let c = hiddenDim
        precondition(res2.rank == 4 && memory.count == 3 && positions.count == 4,
                     "pixel decoder: res2 \(res2.shape), \(memory.count) memory maps (need 3), \(positions.count) positions (need 4)")
        let t = res2.shape[0]
        var y: Tensor? = nil
        for stage in 1...4 {
            let k = 5 - stage            // official module suffix
            let level = k - 1            // index into res2…res5 / the module arrays
            let position = positions[level]
            let adapted: Tensor
            if stage < 4 {
                let map = memory[level - 1]
                precondition(map.rank == 4 && map.shape[0] == t && map.shape[1] == c, "memory map \(level - 1): \(map.shape), expected (\(t), \(c), h, w)")
                adapted = adapters[level](map.channelsLast())
            } else {
                adapted = adapters[0].channelsLast(fromChannelsFirst: res2)
            }
            let (h, w) = (adapted.shape[1], adapted.shape[2])
            precondition(position.rank == 4 && (position.shape[0] == 1 || position.shape[0] == t) && Array(position.shape[1...]) == [c, h, w],
                         "position of level \(level): \(position.shape), expected (1 or \(t), \(c), \(h), \(w))")
            record?("pixel_decoder.stage\(stage).adapter", adapted.channelsFirst())

            let current = block(level, adapted, position.channelsLast())
            record?("pixel_decoder.stage\(stage).vlb", current.channelsFirst())

            let summed = y.map { $0.interpolateChannelsLast(size: (h, w), mode: .nearest, adding: current) } ?? current
            let out = layers[level](summed, relu: true)
            record?("pixel_decoder.stage\(stage).out", out.channelsFirst())
            y = out
        }
        // y is set by the loop above.
        let features = maskFeatures(y ?? Tensor.zeros([t, 0, 0, c])).channelsFirst()
        record?("pixel_decoder.mask_features", features)
        return features
    }

    /// The smallest frame side (height or width of the resized frame) the decoder accepts: the
    /// spatially reduced self-attention needs res2 ≥ 8 cells (sr 8), res3 ≥ 4 (sr 4) and res4 ≥ 2
    /// (sr 2); with the backbone's n → ⌊(n−1)/2⌋+1 per stride-2 op that is 29 pixels. The official
    /// code fails on smaller frames too (an interpolation to an empty size).
    public static let minimumFrameSide = 29

    /// Throws `.input` if a resized frame of `height`×`width` is too small for the pixel decoder.
    public static func validateFrameSize(height: Int, width: Int) throws(ReferFormerError) {
        guard min(height, width) >= minimumFrameSide else {
            throw ReferFormerError(.input, "frames of \(height)×\(width) pixels are too small for the pixel decoder: both sides must be at least \(minimumFrameSide) pixels after resizing")
        }
    }
}
