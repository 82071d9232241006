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
/// Computation is channels-last inside (see `SegmentationKernels`); inputs and outputs are NCHW.
public struct CrossModalFPNDecoder: Sendable {
    /// `adapter_{k}.weight` (C, Cin_k, 1, 1), k = 1…4 (index k−1); Cin_1 = res2 channels, others C.
    let adapterWeights: [Tensor]
    /// `adapter_{k}.norm.{weight,bias}` (C)
    let adapterNormWeights: [Tensor]
    let adapterNormBiases: [Tensor]
    /// `layer_{k}.weight` (C, C, 3, 3), stored as 9 taps (9, C, C) for the channels-last convolution.
    let layerTaps: [Tensor]
    /// `layer_{k}.norm.{weight,bias}` (C)
    let layerNormWeights: [Tensor]
    let layerNormBiases: [Tensor]
    /// `cross_attn_{k}.*`
    let blocks: [VisionLanguageBlock]
    /// `mask_features.weight` (maskDim, C, 3, 3) as taps, `mask_features.bias` (maskDim)
    let maskFeaturesTaps: Tensor
    let maskFeaturesBias: Tensor

    public let hiddenDim: Int
    public let maskDim: Int
    /// GroupNorm groups of adapters and layers (8 in the official `get_norm("GN")`).
    public static let groupNormGroups = 8
    /// Self-attention spatial-reduction ratios of cross_attn_1…4 (hard-coded upstream).
    public static let srRatios = [8, 4, 2, 1]

    /// - Parameters:
    ///   - stateDict: the checkpoint; keys under `prefix` (`pixel_decoder.`) are taken.
    ///   - hiddenDim: `hidden_dim` (conv_dim, 256); `maskDim`: `mask_dim` (256);
    ///     `ffnDim`: `dim_feedforward` (2048); `heads`: 8 (hard-coded upstream).
    ///   - res2Channels: channels of backbone res2 (`backbone.num_channels[0]`, 256 for ResNet-50).
    public init(stateDict: StateDict, prefix: String = "pixel_decoder.", hiddenDim c: Int, maskDim: Int,
                ffnDim: Int, heads: Int = 8, res2Channels: Int) {
        var adapterWeights: [Tensor] = [], adapterNormWeights: [Tensor] = [], adapterNormBiases: [Tensor] = []
        var layerTaps: [Tensor] = [], layerNormWeights: [Tensor] = [], layerNormBiases: [Tensor] = []
        var blocks: [VisionLanguageBlock] = []
        for k in 1...4 {
            let inChannels = k == 1 ? res2Channels : c
            adapterWeights.append(stateDict.take(prefix + "adapter_\(k).weight", shape: [c, inChannels, 1, 1]).contiguous())
            adapterNormWeights.append(stateDict.take(prefix + "adapter_\(k).norm.weight", shape: [c]).contiguous())
            adapterNormBiases.append(stateDict.take(prefix + "adapter_\(k).norm.bias", shape: [c]).contiguous())
            layerTaps.append(SegmentationKernels.convolutionTaps(stateDict.take(prefix + "layer_\(k).weight", shape: [c, c, 3, 3])))
            layerNormWeights.append(stateDict.take(prefix + "layer_\(k).norm.weight", shape: [c]).contiguous())
            layerNormBiases.append(stateDict.take(prefix + "layer_\(k).norm.bias", shape: [c]).contiguous())
            blocks.append(VisionLanguageBlock(stateDict: stateDict, prefix: prefix + "cross_attn_\(k).", hiddenDim: c,
                                              ffnDim: ffnDim, heads: heads, srRatio: Self.srRatios[k - 1]))
        }
        self.adapterWeights = adapterWeights
        self.adapterNormWeights = adapterNormWeights
        self.adapterNormBiases = adapterNormBiases
        self.layerTaps = layerTaps
        self.layerNormWeights = layerNormWeights
        self.layerNormBiases = layerNormBiases
        self.blocks = blocks
        maskFeaturesTaps = SegmentationKernels.convolutionTaps(stateDict.take(prefix + "mask_features.weight", shape: [maskDim, c, 3, 3]))
        maskFeaturesBias = stateDict.take(prefix + "mask_features.bias", shape: [maskDim]).contiguous()
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
        let c = hiddenDim
        precondition(res2.rank == 4 && memory.count == 3 && positions.count == 4,
                     "pixel decoder: res2 \(res2.shape), \(memory.count) memory maps (need 3), \(positions.count) positions (need 4)")
        let t = res2.shape[0]
        precondition(words.rank == 3 && words.shape[0] == 1 && words.shape[2] == c, "words \(words.shape), expected (1, L, \(c))")
        let l = words.shape[1]
        precondition(textPosition.shape == [1, c, l], "text position \(textPosition.shape), expected (1, \(c), \(l))")
        let wordRows = words.reshaped([l, c]).contiguous()
        let textKeys = SegmentationKernels.add(wordRows, textPosition.reshaped([c, l]).transposed(0, 1).contiguous())

        var y: Tensor? = nil
        for stage in 1...4 {
            let k = 5 - stage            // official module suffix
            let level = k - 1            // index into res2…res5 / the module arrays
            let position = positions[level]
            var adapted: Tensor
            if stage < 4 {
                let map = memory[level - 1]
                precondition(map.rank == 4 && map.shape[0] == t && map.shape[1] == c, "memory map \(level - 1): \(map.shape), expected (\(t), \(c), h, w)")
                adapted = SegmentationKernels.linear(SegmentationKernels.channelsLast(map), weight: adapterWeights[level].reshaped([c, c]), bias: nil)
            } else {
                adapted = SegmentationKernels.conv1x1ChannelsFirstToLast(res2, weight: adapterWeights[0])
            }
            let (h, w) = (adapted.shape[1], adapted.shape[2])
            precondition(position.rank == 4 && (position.shape[0] == 1 || position.shape[0] == t) && Array(position.shape[1...]) == [c, h, w],
                         "position of level \(level): \(position.shape), expected (1 or \(t), \(c), \(h), \(w))")
            SegmentationKernels.groupNorm(&adapted, groups: Self.groupNormGroups, weight: adapterNormWeights[level], bias: adapterNormBiases[level])
            record?("pixel_decoder.stage\(stage).adapter", SegmentationKernels.channelsFirst(adapted))

            let current = blocks[level](adapted, position: SegmentationKernels.channelsLast(position), words: wordRows,
                                        textKeys: textKeys, textPaddingMask: textPaddingMask)
            record?("pixel_decoder.stage\(stage).vlb", SegmentationKernels.channelsFirst(current))

            let summed = y.map { SegmentationKernels.resizeNearest($0, height: h, width: w, adding: current) } ?? current
            var out = SegmentationKernels.conv3x3(summed, taps: layerTaps[level], bias: nil)
            SegmentationKernels.groupNorm(&out, groups: Self.groupNormGroups, weight: layerNormWeights[level], bias: layerNormBiases[level], relu: true)
            record?("pixel_decoder.stage\(stage).out", SegmentationKernels.channelsFirst(out))
            y = out
        }
        // y is set by the loop above.
        let features = SegmentationKernels.channelsFirst(
            SegmentationKernels.conv3x3(y ?? Tensor.zeros([t, 0, 0, c]), taps: maskFeaturesTaps, bias: maskFeaturesBias))
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
