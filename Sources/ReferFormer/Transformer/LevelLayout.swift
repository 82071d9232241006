// Deformable-DETR `spatial_shapes` / `level_start_index`: the multi-scale token layout.
import Tensor

/// The level geometry of a flattened multi-scale token sequence.
public struct LevelLayout: Sendable, Equatable {
    /// (h, w) of each level, in sequence order.
    public var shapes: [(h: Int, w: Int)]

    public init(shapes: [(h: Int, w: Int)]) { self.shapes = shapes }

    /// Exclusive cumulative sum of h·w (`level_start_index`).
    public var startIndex: [Int] {
        var starts: [Int] = [], total = 0
        for s in shapes { starts.append(total); total += s.h * s.w }
        return starts
    }

    /// Tokens per frame (S).
    public var tokenCount: Int { shapes.reduce(0) { $0 + $1.h * $1.w } }

    public static func == (a: LevelLayout, b: LevelLayout) -> Bool {
        a.shapes.count == b.shapes.count && zip(a.shapes, b.shapes).allSatisfy { $0.h == $1.h && $0.w == $1.w }
    }
}
