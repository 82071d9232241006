// ReferFormer models/deformable_transformer.py DeformableTransformer.forward: the encoder memory.
import Tensor

/// The deformable encoder's result for a batch of frames.
public struct EncoderOutput: Sendable {
    /// Fused `srcs` of the transformer (T, C, h_l, w_l).
    public var sources: [Tensor]
    /// Output of every encoder layer, (T, S, C); the last one is `memory`.
    public var layers: [Tensor]
    public var layout: LevelLayout
    /// The 2-D sine position encoding of every level, (1, C, h_l, w_l), without level embedding: the
    /// same for every frame, computed once by `encode(sources:)` and reused by the pixel decoder.
    /// Empty when the output was built without them.
    public var positions: [Tensor]

    public var memory: Tensor { layers[layers.count - 1] }

    public init(sources: [Tensor], layers: [Tensor], layout: LevelLayout, positions: [Tensor] = []) {
        self.sources = sources
        self.layers = layers
        self.layout = layout
        self.positions = positions
    }

    /// Frames `range` (views): the encoder is per frame, so any frame subset is self-contained.
    public func frames(_ range: Range<Int>) -> EncoderOutput {
        EncoderOutput(sources: sources.map { $0.sliced(0, range) }, layers: layers.map { $0.sliced(0, range) }, layout: layout,
                      positions: positions)
    }

    /// Encoder memory of level `l` reshaped to a map (T, C, h_l, w_l) (the pixel decoder uses l = 0…2).
    public func memoryMap(level l: Int) -> Tensor {
        let t = memory.shape[0], c = memory.shape[2]
        let (h, w) = layout.shapes[l]
        let start = layout.startIndex[l]
        return memory.sliced(1, start..<(start + h * w)).permuted([0, 2, 1]).reshaped([t, c, h, w])
    }
}
