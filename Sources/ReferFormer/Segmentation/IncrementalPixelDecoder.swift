// Incremental (causal, cached) form of the pixel decoder for streaming. Not an official computation:
// see docs/incremental-pixel-decoder.md.
import Tensor

/// What one frame leaves behind for the frames after it in incremental mode: the spatially reduced
/// self-attention keys and values of its four `VisionLanguageBlock`s, as the official block builds
/// them (keys `x + pos`, values `x`, nearest-downsampled by the block's sr ratio; all tokens at sr 1).
///
/// A block's input is `GN(adapter(·))` of the frame's own encoder memory (or res2), never the
/// top-down path, so these tensors depend on the frame and the phrase only: they are exactly what the
/// exact decoder computes for this frame in any clip that contains it.
public struct PixelDecoderFrameState: Sendable {
    /// Per module index k−1 (cross_attn_k), (n_k, 1, C): n_k = ⌊h/sr⌋·⌊w/sr⌋ reduced tokens.
    public internal(set) var keys: [Tensor]
    public internal(set) var values: [Tensor]

    /// Bytes held (float32).
    public var byteCount: Int { (keys + values).reduce(0) { $0 + $1.count * MemoryLayout<Float>.size } }
}

extension VisionLanguageBlock {
    /// The block on ONE frame x (1, h, w, C) whose self-attention queries attend to the reduced keys and
    /// values of `earlier` frames (each (n, 1, C), oldest first) followed by its own. With no earlier
    /// frame it is the exact block on a one-frame clip (the same calls).
    /// - Returns: the block output (1, h, w, C) and this frame's reduced keys and values.
    func incremental(_ x: Tensor, position: Tensor, words: Tensor, textKeys: Tensor, textPaddingMask: [Bool]?,
                     earlier: [(keys: Tensor, values: Tensor)]) -> (output: Tensor, keys: Tensor, values: Tensor) {
        let (t, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(t == 1, "the incremental block takes one frame, got \(t)")
        let queryInput = x + position
        let tokens = [h * w, 1, c]
        func joined(_ own: Tensor, _ part: KeyPath<(keys: Tensor, values: Tensor), Tensor>) -> Tensor {
            earlier.isEmpty ? own : Tensor.concat(earlier.map { $0[keyPath: part] } + [own], axis: 0)
        }
        var y: Tensor
        let qk: Tensor, v: Tensor
        if srRatio > 1 {
            let nh = h / srRatio, nw = w / srRatio
            precondition(nh >= 1 && nw >= 1, "a \(h)×\(w) map is too small for spatial reduction \(srRatio)")
            qk = queryInput.interpolateChannelsLast(size: (nh, nw), mode: .nearest).reshaped([nh * nw, 1, c])
            v = x.interpolateChannelsLast(size: (nh, nw), mode: .nearest).reshaped([nh * nw, 1, c])
            let reduced = selfAttn(query: qk, key: joined(qk, \.keys), value: joined(v, \.values)).reshaped([1, nh, nw, c])
            y = reduced.interpolateChannelsLast(size: (h, w), mode: .bilinear(alignCorners: false), adding: x).reshaped(tokens)
        } else {
            qk = queryInput.reshaped(tokens)
            v = x.reshaped(tokens)
            y = selfAttn(query: qk, key: joined(qk, \.keys), value: joined(v, \.values), residual: v)
        }
        for frame in earlier {
            precondition(frame.keys.shape == qk.shape && frame.values.shape == v.shape,
                         "cached keys \(frame.keys.shape) / values \(frame.values.shape) do not match this frame's \(qk.shape)")
        }
        let output = textAndFeedForward(&y, shape: (1, h, w, c), position: position, words: words, textKeys: textKeys,
                                        textPaddingMask: textPaddingMask)
        return (output, qk.contiguous(), v.contiguous())
    }
}

extension CrossModalFPNDecoder {
    /// The pixel decoder on the NEWEST frame of a stream only (opt-in streaming approximation).
    ///
    /// The exact decoder on a clip of T frames lets every frame's block tokens attend to the reduced
    /// tokens of all T frames (past and future ones in the clip). Here the frame attends to the cached
    /// reduced keys/values of the `earlier` frames (as they were produced when each was new) and its
    /// own: causal attention, one frame of work instead of T.
    ///
    /// Because a block's keys and values depend on their own frame only, the newest frame's output
    /// equals the exact decoder's output for that frame on the clip `earlier + [this frame]` (up to
    /// float rounding); what differs from exact windowed streaming is that older frames keep the
    /// output they got when they were new instead of being recomputed with later frames in view.
    ///
    /// - Parameters: as `callAsFunction` for a clip of one frame (res2 (1, C₂, h₄, w₄), memory maps
    ///   (1, C, h, w)); `earlier`: the states of the frames before it, oldest first (same size).
    /// - Returns: `mask_features` (1, maskDim, h₄, w₄) and this frame's state for the frames after it.
    public func incremental(
        res2: Tensor, memory: [Tensor], positions: [Tensor], words: Tensor, textPaddingMask: [Bool]?,
        textPosition: Tensor, earlier: [PixelDecoderFrameState]
    ) -> (maskFeatures: Tensor, state: PixelDecoderFrameState) {
        precondition(res2.rank == 4 && res2.shape[0] == 1, "the incremental pixel decoder takes one frame, got res2 \(res2.shape)")
        let text = textTokens(words: words, textPosition: textPosition)
        var state = PixelDecoderFrameState(keys: Array(repeating: Tensor.zeros([0]), count: 4),
                                           values: Array(repeating: Tensor.zeros([0]), count: 4))
        let features = topDown(res2: res2, memory: memory, positions: positions, record: nil) { level, adapted, position in
            let block = crossAttns[level].incremental(
                adapted, position: position, words: text.words, textKeys: text.keys, textPaddingMask: textPaddingMask,
                earlier: earlier.map { ($0.keys[level], $0.values[level]) })
            state.keys[level] = block.keys
            state.values[level] = block.values
            return block.output
        }
        return (features, state)
    }
}
