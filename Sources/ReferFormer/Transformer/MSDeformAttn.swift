// ReferFormer models/ops/modules/ms_deform_attn.py `MSDeformAttn` (Deformable-DETR multi-scale
// deformable attention), with the sampling itself in `Tensor.msDeformAttnCore` (a native loop that
// matches models/ops/functions/ms_deform_attn_func.py `ms_deform_attn_core_pytorch`).
import Tensor

/// `MSDeformAttn(d_model, n_levels, n_heads, n_points)`: keys `<prefix>.sampling_offsets`,
/// `<prefix>.attention_weights`, `<prefix>.value_proj`, `<prefix>.output_proj` (weight and bias each).
struct MSDeformAttn: Sendable {
    var samplingOffsets: Linear
    var attentionWeights: Linear
    var valueProj: Linear
    var outputProj: Linear
    let heads: Int
    let levels: Int
    let points: Int

    init(weights: StateDict, prefix: String, dModel: Int, levels: Int, heads: Int, points: Int) {
        samplingOffsets = Linear(weights: weights, prefix: "\(prefix).sampling_offsets", inFeatures: dModel, outFeatures: heads * levels * points * 2)
        attentionWeights = Linear(weights: weights, prefix: "\(prefix).attention_weights", inFeatures: dModel, outFeatures: heads * levels * points)
        valueProj = Linear(weights: weights, prefix: "\(prefix).value_proj", inFeatures: dModel, outFeatures: dModel)
        outputProj = Linear(weights: weights, prefix: "\(prefix).output_proj", inFeatures: dModel, outFeatures: dModel)
        self.heads = heads
        self.levels = levels
        self.points = points
    }

    struct Output {
        /// (N, Lq, C)
        var output: Tensor
        /// (N, Lq, M, L, P, 2), normalised (x, y).
        var samplingLocations: Tensor
        /// (N, Lq, M, L, P), softmaxed over (L, P) per head.
        var attentionWeights: Tensor
    }

    /// - Parameters:
    ///   - query: (N, Lq, C), already including its positional embedding.
    ///   - reference: (1 or N, Lq, 2) points or (1 or N, Lq, 4) boxes (cx, cy, w, h), normalised; the
    ///     same for every level (all valid ratios are 1 at inference).
    ///   - input: (N, S, C) the flattened multi-scale values.
    ///   - residual: (N, Lq, C); when given the output is `residual + attention` (the layer's skip
    ///     connection, fused into the output projection).
    func callAsFunction(query: Tensor, reference: Tensor, input: Tensor, layout: LevelLayout, residual: Tensor? = nil) -> Output {
        let n = query.shape[0], lq = query.shape[1], c = query.shape[2]
        precondition(input.shape == [n, layout.tokenCount, c], "MSDeformAttn: input \(input.shape), query \(query.shape), \(layout.tokenCount) tokens")
        precondition(layout.shapes.count == levels, "MSDeformAttn: \(layout.shapes.count) levels, module has \(levels)")
        let value = valueProj(input).reshaped([n, layout.tokenCount, heads, c / heads])
        let offsets = samplingOffsets(query)  // (N, Lq, M·L·P·2)
        let weights = attentionWeights(query).reshaped([n, lq, heads, levels * points]).softmax(axis: -1)
            .reshaped([n, lq, heads, levels, points])
        let locations = msDeformSamplingLocations(offsets: offsets, reference: reference, spatialShapes: layout.shapes,
                                                  heads: heads, points: points)
        let sampled = msDeformAttnCore(value: value, spatialShapes: layout.shapes, levelStartIndex: layout.startIndex,
                                              samplingLocations: locations, attentionWeights: weights)
        return Output(output: outputProj(sampled, residual: residual), samplingLocations: locations, attentionWeights: weights)
    }
}
