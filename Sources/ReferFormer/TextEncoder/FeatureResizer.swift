// ReferFormer models/referformer.py, FeatureResizer: Linear → LayerNorm(eps 1e-12) → dropout (no-op).
import Tensor

/// Projects RoBERTa features (768) to the transformer width (`resizer.*`).
public struct FeatureResizer: Sendable {
    let fc: Linear  // resizer.fc
    let normWeight: Tensor  // resizer.layer_norm.weight
    let normBias: Tensor  // resizer.layer_norm.bias

    public init(_ weights: StateDict, prefix: String = "resizer.", inFeatures: Int, outFeatures: Int) {
        fc = Linear(weights: weights, prefix: prefix + "fc", inFeatures: inFeatures, outFeatures: outFeatures)
        normWeight = weights.take(prefix + "layer_norm.weight", shape: [outFeatures])
        normBias = weights.take(prefix + "layer_norm.bias", shape: [outFeatures])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        fc(x).layerNorm(weight: normWeight, bias: normBias, eps: 1e-12)
    }
}
