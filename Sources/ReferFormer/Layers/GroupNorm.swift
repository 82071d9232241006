// torch.nn.GroupNorm, holding exactly the official state-dict entries of its module.
import Tensor

/// torch.nn.GroupNorm on (N, C, …): `<prefix>.weight`, `<prefix>.bias`.
struct GroupNorm: Sendable {
    var weight: Tensor
    var bias: Tensor
    var groups: Int
    var eps: Float

    init(weights: StateDict, prefix: String, groups: Int, channels: Int, eps: Float = 1e-5) {
        weight = weights.take("\(prefix).weight", shape: [channels])
        bias = weights.take("\(prefix).bias", shape: [channels])
        self.groups = groups
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps) }

    /// Normalises `x` (in `layout`) in place, followed by ReLU when `relu`.
    func apply(to x: inout Tensor, layout: ImageLayout, relu: Bool = false) {
        x.applyGroupNorm(groups: groups, weight: weight, bias: bias, eps: eps, layout: layout, relu: relu)
    }
}
