// ReferFormer models/segmentation.py, VisionLanguageBlock (forward_post; normalize_before=False)
import Tensor

/// One cross-modal block of the pixel decoder: cross-frame self-attention with spatial reduction,
/// cross-attention to the words, FFN; post-norm (`pixel_decoder.cross_attn_{1..4}.*`).
///
/// Works on channels-last maps (T, h, w, C) — the official `(t h w) b c` token matrix with b = 1:
/// 1. `q = k = x + pos`, `v = x`; with `srRatio > 1` each frame's q, k, v are nearest-downsampled to
///    (⌊h/sr⌋, ⌊w/sr⌋) (torch legacy nearest), self-attention runs over the reduced tokens of **all
///    frames jointly**, and its output is bilinearly upsampled (align_corners=False) back to (h, w).
///    Nearest downsampling selects tokens and the projections are per token, so they are applied to
///    the reduced tokens only. `x ← norm1(x + attn)`.
/// 2. `x ← norm2(x + MHA(q = x + pos, k = words + textPos, v = words, key padding = text mask))`.
/// 3. `x ← norm3(x + linear2(ReLU(linear1(x))))`.
/// Padding masks of the frames are all False at inference (no padding), so none is taken.
public struct VisionLanguageBlock: Sendable {
    var selfAttn: MultiheadAttention
    var multiheadAttn: MultiheadAttention
    var linear1: Linear
    var linear2: Linear
    var norm1: LayerNorm
    var norm2: LayerNorm
    var norm3: LayerNorm
    /// Spatial-reduction ratio of the self-attention (8, 4, 2, 1 for cross_attn_1..4).
    public let srRatio: Int

    /// - Parameters:
    ///   - prefix: e.g. `pixel_decoder.cross_attn_1`
    ///   - hiddenDim: C (`hidden_dim`); `ffnDim`: F (`dim_feedforward`); `heads`: 8 in the official code.
    public init(weights: StateDict, prefix: String, hiddenDim c: Int, ffnDim f: Int, heads: Int = 8, srRatio: Int) {
        precondition(srRatio >= 1, "sr ratio \(srRatio)")
        selfAttn = MultiheadAttention(weights: weights, prefix: "\(prefix).self_attn", embedDim: c, heads: heads)
        multiheadAttn = MultiheadAttention(weights: weights, prefix: "\(prefix).multihead_attn", embedDim: c, heads: heads)
        linear1 = Linear(weights: weights, prefix: "\(prefix).linear1", inFeatures: c, outFeatures: f)
        linear2 = Linear(weights: weights, prefix: "\(prefix).linear2", inFeatures: f, outFeatures: c)
        norm1 = LayerNorm(weights: weights, prefix: "\(prefix).norm1", dimension: c)
        norm2 = LayerNorm(weights: weights, prefix: "\(prefix).norm2", dimension: c)
        norm3 = LayerNorm(weights: weights, prefix: "\(prefix).norm3", dimension: c)
        self.srRatio = srRatio
    }

    /// - Parameters:
    ///   - x: visual tokens as a channels-last map (T, h, w, C).
    ///   - position: the 2-D sine encoding of this level, channels-last (1 or T, h, w, C).
    ///   - words: (L, 1, C) word features; `textKeys`: words + text position (L, 1, C);
    ///     `textPaddingMask`: L flags, true = padding.
    /// - Returns: (T, h, w, C).
    /// - Precondition: h ≥ srRatio and w ≥ srRatio (torch cannot resize to an empty map either).
    func callAsFunction(_ x: Tensor, position: Tensor, words: Tensor, textKeys: Tensor, textPaddingMask: [Bool]?) -> Tensor {
        let (t, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let queryInput = x + position
        let tokens = [t * h * w, 1, c]

        // 1. Self-attention over all frames (spatially reduced), residual fused.
        var y: Tensor
        if srRatio > 1 {
            // official: new_h = int(h * 1./sr_ratio), i.e. ⌊h/sr⌋ for these exact binary fractions
            let nh = h / srRatio, nw = w / srRatio
            precondition(nh >= 1 && nw >= 1, "a \(h)×\(w) map is too small for spatial reduction \(srRatio)")
            let qk = queryInput.interpolateChannelsLast(size: (nh, nw), mode: .nearest).reshaped([t * nh * nw, 1, c])
            let v = x.interpolateChannelsLast(size: (nh, nw), mode: .nearest).reshaped([t * nh * nw, 1, c])
            let reduced = selfAttn(query: qk, key: qk, value: v).reshaped([t, nh, nw, c])
            y = reduced.interpolateChannelsLast(size: (h, w), mode: .bilinear(alignCorners: false), adding: x).reshaped(tokens)
        } else {
            let qk = queryInput.reshaped(tokens)
            let rows = x.reshaped(tokens)
            y = selfAttn(query: qk, key: qk, value: rows, residual: rows)
        }
        return textAndFeedForward(&y, shape: (t, h, w, c), position: position, words: words, textKeys: textKeys,
                                  textPaddingMask: textPaddingMask)
    }

    /// Step 1's norm, then steps 2 and 3, on the self-attention output plus residual `y` (T·h·w, 1, C)
    /// (normalised in place) → (T, h, w, C). Per token: shared by the exact block and its incremental
    /// form (`IncrementalPixelDecoder.swift`).
    func textAndFeedForward(_ y: inout Tensor, shape: (t: Int, h: Int, w: Int, c: Int), position: Tensor, words: Tensor,
                            textKeys: Tensor, textPaddingMask: [Bool]?) -> Tensor {
        let (t, h, w, c) = shape
        let tokens = [t * h * w, 1, c]
        norm1.apply(to: &y)

        // 2. Cross-attention to the words, residual fused.
        let crossQuery = (y.reshaped([t, h, w, c]) + position).reshaped(tokens)
        let mask = textPaddingMask.map { [$0] }
        y = multiheadAttn(query: crossQuery, key: textKeys, value: words, keyPaddingMask: mask, residual: y)
        norm2.apply(to: &y)

        // 3. FFN with residual.
        y = feedForward(y, linear1: linear1, linear2: linear2, addingInput: true)
        norm3.apply(to: &y)
        return y.reshaped([t, h, w, c])
    }
}
