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
/// 3. `x ← norm3(x + linear2(ReLU(linear1(x))))`, computed in row blocks to bound the FFN buffer.
/// Padding masks of the frames are all False at inference (no padding), so none is taken.
public struct VisionLanguageBlock: Sendable {
    let selfAttention: VisionLanguageAttention
    let crossAttention: VisionLanguageAttention
    /// `linear1.weight` (F, C), `linear1.bias` (F)
    let linear1Weight: Tensor
    let linear1Bias: Tensor
    /// `linear2.weight` (C, F), `linear2.bias` (C)
    let linear2Weight: Tensor
    let linear2Bias: Tensor
    /// `norm1/2/3.{weight,bias}` (C), LayerNorm eps 1e-5
    let norm1Weight: Tensor, norm1Bias: Tensor
    let norm2Weight: Tensor, norm2Bias: Tensor
    let norm3Weight: Tensor, norm3Bias: Tensor
    /// Spatial-reduction ratio of the self-attention (8, 4, 2, 1 for cross_attn_1..4).
    public let srRatio: Int

    /// FFN rows computed at once: the (rows, F) hidden block (2 MB for F = 2048) stays in cache
    /// between its GEMM, the bias+ReLU pass and the second GEMM.
    static let ffnBlockRows = 256

    /// - Parameters:
    ///   - prefix: e.g. `pixel_decoder.cross_attn_1.`
    ///   - hiddenDim: C (`hidden_dim`); `ffnDim`: F (`dim_feedforward`); `heads`: 8 in the official code.
    public init(stateDict: StateDict, prefix: String, hiddenDim c: Int, ffnDim f: Int, heads: Int = 8, srRatio: Int) {
        selfAttention = VisionLanguageAttention(stateDict: stateDict, prefix: prefix + "self_attn.", embedDim: c, heads: heads)
        crossAttention = VisionLanguageAttention(stateDict: stateDict, prefix: prefix + "multihead_attn.", embedDim: c, heads: heads)
        linear1Weight = stateDict.take(prefix + "linear1.weight", shape: [f, c]).contiguous()
        linear1Bias = stateDict.take(prefix + "linear1.bias", shape: [f]).contiguous()
        linear2Weight = stateDict.take(prefix + "linear2.weight", shape: [c, f]).contiguous()
        linear2Bias = stateDict.take(prefix + "linear2.bias", shape: [c]).contiguous()
        norm1Weight = stateDict.take(prefix + "norm1.weight", shape: [c]).contiguous()
        norm1Bias = stateDict.take(prefix + "norm1.bias", shape: [c]).contiguous()
        norm2Weight = stateDict.take(prefix + "norm2.weight", shape: [c]).contiguous()
        norm2Bias = stateDict.take(prefix + "norm2.bias", shape: [c]).contiguous()
        norm3Weight = stateDict.take(prefix + "norm3.weight", shape: [c]).contiguous()
        norm3Bias = stateDict.take(prefix + "norm3.bias", shape: [c]).contiguous()
        precondition(srRatio >= 1, "sr ratio \(srRatio)")
        self.srRatio = srRatio
    }

    /// - Parameters:
    ///   - x: visual tokens as a channels-last map (T, h, w, C).
    ///   - position: the 2-D sine encoding of this level, channels-last (1 or T, h, w, C).
    ///   - words: (L, C) word features; `textKeys`: words + text position (L, C);
    ///     `textPaddingMask`: L flags, true = padding.
    /// - Returns: (T, h, w, C).
    /// - Precondition: h ≥ srRatio and w ≥ srRatio (torch cannot resize to an empty map either).
    func callAsFunction(_ x: Tensor, position: Tensor, words: Tensor, textKeys: Tensor, textPaddingMask: [Bool]?) -> Tensor {
        let (t, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let queryInput = SegmentationKernels.addFrameBroadcast(x, position)

        // 1. Self-attention over all frames (spatially reduced), residual fused.
        var y: Tensor
        if srRatio > 1 {
            // official: new_h = int(h * 1./sr_ratio), i.e. ⌊h/sr⌋ for these exact binary fractions
            let nh = h / srRatio, nw = w / srRatio
            precondition(nh >= 1 && nw >= 1, "a \(h)×\(w) map is too small for spatial reduction \(srRatio)")
            let qk = SegmentationKernels.resizeNearest(queryInput, height: nh, width: nw).reshaped([t * nh * nw, c])
            let v = SegmentationKernels.resizeNearest(x, height: nh, width: nw).reshaped([t * nh * nw, c])
            let reduced = selfAttention(query: qk, key: qk, value: v).reshaped([t, nh, nw, c])
            y = SegmentationKernels.resizeBilinear(reduced, height: h, width: w, adding: x).reshaped([t * h * w, c])
        } else {
            let qk = queryInput.reshaped([t * h * w, c])
            let rows = x.reshaped([t * h * w, c])
            y = selfAttention(query: qk, key: qk, value: rows, residual: rows)
        }
        SegmentationKernels.layerNormRows(&y, weight: norm1Weight, bias: norm1Bias)

        // 2. Cross-attention to the words, residual fused.
        let crossQuery = SegmentationKernels.addFrameBroadcast(y.reshaped([t, h, w, c]), position).reshaped([t * h * w, c])
        y = crossAttention(query: crossQuery, key: textKeys, value: words, keyPaddingMask: textPaddingMask, residual: y)
        SegmentationKernels.layerNormRows(&y, weight: norm2Weight, bias: norm2Bias)

        // 3. FFN with residual, in row blocks.
        y = feedForward(y)
        SegmentationKernels.layerNormRows(&y, weight: norm3Weight, bias: norm3Bias)
        return y.reshaped([t, h, w, c])
    }

    /// `x + linear2(ReLU(linear1(x)))` over the rows of x (N, C), `ffnBlockRows` rows at a time.
    private func feedForward(_ x: Tensor) -> Tensor {
        let (n, c) = (x.shape[0], x.shape[1])
        let f = linear1Weight.shape[0]
        let block = min(Self.ffnBlockRows, max(n, 1))
        var hidden = [Float](repeating: 0, count: block * f)
        let b1 = linear1Bias.scalars, b2 = linear2Bias.scalars
        return Tensor(shape: [n, c]) { out in
            x.withUnsafeBufferPointer { xp in
                linear1Weight.withUnsafeBufferPointer { w1 in
                    linear2Weight.withUnsafeBufferPointer { w2 in
                        hidden.withUnsafeMutableBufferPointer { hp in
                            let hb = hp.baseAddress!
                            var start = 0
                            while start < n {
                                let rows = min(block, n - start)
                                BLAS.sgemm(transB: .transposed, m: rows, n: f, k: c,
                                           a: xp.baseAddress! + start * c, lda: c, b: w1.baseAddress!, ldb: c,
                                           c: hb, ldc: f)
                                let ob = out.baseAddress! + start * c
                                let xb = xp.baseAddress! + start * c
                                Parallel.forEach(rows, minChunk: 32) { range in
                                    for r in range {
                                        let row = hb + r * f
                                        for j in 0..<f { row[j] = max(row[j] + b1[j], 0) }
                                        for j in 0..<c { ob[r * c + j] = xb[r * c + j] + b2[j] }
                                    }
                                }
                                BLAS.sgemm(transB: .transposed, m: rows, n: c, k: f,
                                           a: hb, lda: f, b: w2.baseAddress!, ldb: f,
                                           beta: 1, c: ob, ldc: c)
                                start += rows
                            }
                        }
                    }
                }
            }
        }
    }
}
