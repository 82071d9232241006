// torch.nn.Linear, holding exactly the official state-dict entries of its module.
// One constructor convention for every module of the model: `init(weights: StateDict, prefix: String, …)`
// where `prefix` is the module's dotted path without a trailing dot (`transformer.decoder.layers.0`), and
// each parameter is taken as `"\(prefix).<name>"`, the official state-dict key.
import Tensor

/// torch.nn.Linear: `<prefix>.weight` (out, in), `<prefix>.bias` (out).
struct Linear: Sendable {
    var weight: Tensor
    var bias: Tensor?

    init(weights: StateDict, prefix: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        weight = weights.take("\(prefix).weight", shape: [outFeatures, inFeatures])
        self.bias = bias ? weights.take("\(prefix).bias", shape: [outFeatures]) : nil
    }

    init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    var inFeatures: Int { weight.shape[1] }
    var outFeatures: Int { weight.shape[0] }

    /// `x·Wᵀ + b`, plus `residual` (same shape as the result) when given, fused into the product.
    func callAsFunction(_ x: Tensor, residual: Tensor? = nil) -> Tensor { x.linear(weight: weight, bias: bias, residual: residual) }
}
