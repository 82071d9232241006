// torch.nn.Conv2d, holding exactly the official state-dict entries of its module.
import Tensor

/// torch.nn.Conv2d (square kernel): `<prefix>.weight` (out, in, k, k), optional `<prefix>.bias`.
///
/// `layout` is the layout the layer computes in: `.channelsFirst` takes and returns (N, C, H, W) with
/// any stride and padding; `.channelsLast` takes and returns (N, H, W, C), stride 1 and "same"
/// padding only (the pixel decoder's convolutions), with the weight rearranged once into taps.
struct Conv2d: Sendable {
    var weight: Tensor
    var bias: Tensor?
    var stride: Int
    var padding: Int
    let layout: ImageLayout
    /// `weight` as channels-last taps (derived at load, not a checkpoint entry); nil for channels-first.
    private let taps: ConvolutionTaps?
    /// `weight` with its Winograd transform, built on first use, for a channels-first 3×3, stride-1,
    /// padding-1 layer (not a checkpoint entry); nil otherwise.
    private let winograd: LazyWinogradKernel?

    init(weights: StateDict, prefix: String, inChannels: Int, outChannels: Int, kernel: Int,
         stride: Int = 1, padding: Int = 0, bias: Bool = true, layout: ImageLayout = .channelsFirst) {
        let weight = weights.take("\(prefix).weight", shape: [outChannels, inChannels, kernel, kernel])
        self.init(weight: weight, bias: bias ? weights.take("\(prefix).bias", shape: [outChannels]) : nil,
                  stride: stride, padding: padding, layout: layout)
    }

    init(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, layout: ImageLayout = .channelsFirst) {
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.layout = layout
        if layout == .channelsLast {
            precondition(stride == 1 && weight.shape[2] % 2 == 1 && padding == weight.shape[2] / 2,
                         "a channels-last Conv2d has stride 1 and same padding, got kernel \(weight.shape) stride \(stride) padding \(padding)")
            taps = ConvolutionTaps(weight: weight)
        } else {
            taps = nil
        }
        let winogradShape = layout == .channelsFirst && stride == 1 && padding == 1 && weight.shape[2] == 3 && weight.shape[3] == 3
        winograd = winogradShape ? LazyWinogradKernel(weight: weight) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        if let taps { return x.conv2dChannelsLast(taps, bias: bias) }
        if let winograd { return x.conv2d(winograd: winograd, bias: bias) }
        return x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    }
}
