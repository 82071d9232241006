// ReferFormer models/referformer.py forward: the input_proj outputs (srcs before fusion).
import Tensor

/// The transformer levels after the input projections (text-independent, cacheable per frame).
public struct ProjectedFeatures: Sendable {
    /// `input_proj[l]` outputs, (T, C, h_l, w_l), strides 8, 16, 32, 64.
    public var levels: [Tensor]
    public var layout: LevelLayout {
        LevelLayout(shapes: levels.map { (h: $0.shape[2], w: $0.shape[3]) })
    }

    public init(levels: [Tensor]) { self.levels = levels }

    /// Frames `range` (views).
    public func frames(_ range: Range<Int>) -> ProjectedFeatures {
        ProjectedFeatures(levels: levels.map { $0.sliced(0, range) })
    }
}
