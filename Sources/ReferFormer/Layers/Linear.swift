// torch.nn.Linear (eval): y = x·Wᵀ + b, with the official `<prefix>weight` / `<prefix>bias` keys.
import Tensor

/// A fully connected layer taken from a state dict.
public struct Linear: Sendable {
    public let weight: Tensor  // <prefix>weight (out, in)
    public let bias: Tensor?  // <prefix>bias (out)

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    /// Takes `<prefix>weight` (out, in) and, if `bias`, `<prefix>bias` (out).
    public init(_ weights: StateDict, prefix: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.weight = weights.take(prefix + "weight", shape: [outFeatures, inFeatures])
        self.bias = bias ? weights.take(prefix + "bias", shape: [outFeatures]) : nil
    }

    /// (…, in) → (…, out).
    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
}
