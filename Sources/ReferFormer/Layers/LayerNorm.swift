// torch.nn.LayerNorm, holding exactly the official state-dict entries of its module.
import Tensor

/// torch.nn.LayerNorm over the last dimension: `<prefix>.weight`, `<prefix>.bias`.
struct LayerNorm: Sendable {
    var weight: Tensor
    var bias: Tensor
    var eps: Float

    init(weights: StateDict, prefix: String, dimension: Int, eps: Float = 1e-5) {
        weight = weights.take("\(prefix).weight", shape: [dimension])
        bias = weights.take("\(prefix).bias", shape: [dimension])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }

    /// Normalises `x` in place (no new buffer for a uniquely owned activation).
    func apply(to x: inout Tensor) { x.applyLayerNorm(weight: weight, bias: bias, eps: eps) }
}
