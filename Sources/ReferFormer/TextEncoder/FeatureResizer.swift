// ReferFormer models/referformer.py, FeatureResizer: Linear → LayerNorm(eps 1e-12) → dropout (no-op).
import Tensor

/// Projects RoBERTa features (768) to the transformer width (`resizer.*`).
public struct FeatureResizer: Sendable {
    var fc: Linear  // resizer.fc
    var layerNorm: LayerNorm  // resizer.layer_norm (eps 1e-12)

    public init(weights: StateDict, prefix: String = "resizer", inFeatures: Int, outFeatures: Int) {
        fc = Linear(weights: weights, prefix: "\(prefix).fc", inFeatures: inFeatures, outFeatures: outFeatures)
        layerNorm = LayerNorm(weights: weights, prefix: "\(prefix).layer_norm", dimension: outFeatures, eps: 1e-12)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(fc(x)) }
}
