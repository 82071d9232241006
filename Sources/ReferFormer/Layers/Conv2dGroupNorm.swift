// detectron2 layers.Conv2d with norm="GN" (ReferFormer's FPN adapters and layers), holding exactly the official state-dict entries of its module.
import Tensor

/// detectron2 `layers.Conv2d` with a norm, as ReferFormer's FPN builds it with `norm="GN"` (no conv
/// bias): `<prefix>.weight`, `<prefix>.norm.weight`, `<prefix>.norm.bias`.
struct Conv2dGroupNorm: Sendable {
    var conv: Conv2d
    var norm: GroupNorm

    init(weights: StateDict, prefix: String, inChannels: Int, outChannels: Int, kernel: Int, groups: Int, layout: ImageLayout) {
        conv = Conv2d(weights: weights, prefix: prefix, inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                      padding: kernel / 2, bias: false, layout: layout)
        norm = GroupNorm(weights: weights, prefix: "\(prefix).norm", groups: groups, channels: outChannels)
    }

    /// GroupNorm(conv(x)), then ReLU when `relu` (the FPN's `layer_k` is followed by one).
    func callAsFunction(_ x: Tensor, relu: Bool = false) -> Tensor {
        var y = conv(x)
        norm.apply(to: &y, layout: conv.layout, relu: relu)
        return y
    }

    /// The 1×1 convolution of a channels-first input into a channels-last output, then GroupNorm
    /// (the adapter of backbone res2, which arrives NCHW).
    func channelsLast(fromChannelsFirst x: Tensor) -> Tensor {
        precondition(conv.weight.shape[2] == 1 && conv.bias == nil, "channelsLast(fromChannelsFirst:) is for a 1×1 convolution without bias")
        var y = x.conv1x1ToChannelsLast(weight: conv.weight)
        norm.apply(to: &y, layout: .channelsLast)
        return y
    }
}
