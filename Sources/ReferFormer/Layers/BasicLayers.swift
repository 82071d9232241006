// PyTorch torch.nn building blocks used by ReferFormer (Linear, LayerNorm, GroupNorm, Conv2d,
// MultiheadAttention, the DETR MLP, the transformer FFN), each holding exactly the official state-dict
// entries of its module.
//
// One constructor convention for every module of the model: `init(weights: StateDict, prefix: String, …)`
// where `prefix` is the module's dotted path without a trailing dot (`transformer.decoder.layers.0`),
// and each parameter is taken as `"\(prefix).<name>"`, the official state-dict key.
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

/// torch.nn.Embedding: `<prefix>.weight` (count, dimension).
struct Embedding: Sendable {
    var weight: Tensor

    init(weights: StateDict, prefix: String, count: Int, dimension: Int) {
        weight = weights.take("\(prefix).weight", shape: [count, dimension])
    }

    /// Rows `ids` of the table: (ids.count, dimension).
    func callAsFunction(_ ids: [Int]) -> Tensor { weight.gatheringRows(ids) }
}

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
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        if let taps { return x.conv2dChannelsLast(taps, bias: bias) }
        return x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

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

/// torch.nn.MultiheadAttention (eval, sequence-first): `<prefix>.in_proj_weight` (3E, E),
/// `<prefix>.in_proj_bias` (3E), `<prefix>.out_proj.weight` (E, E), `<prefix>.out_proj.bias` (E).
struct MultiheadAttention: Sendable {
    var weights: MultiheadAttentionWeights
    var heads: Int

    init(weights: StateDict, prefix: String, embedDim: Int, heads: Int) {
        self.weights = MultiheadAttentionWeights(
            inProjWeight: weights.take("\(prefix).in_proj_weight", shape: [3 * embedDim, embedDim]),
            inProjBias: weights.take("\(prefix).in_proj_bias", shape: [3 * embedDim]),
            outProjWeight: weights.take("\(prefix).out_proj.weight", shape: [embedDim, embedDim]),
            outProjBias: weights.take("\(prefix).out_proj.bias", shape: [embedDim]))
        self.heads = heads
    }

    /// - Parameters: query (L, N, E), key and value (S, N, E); `keyPaddingMask` N × S, true = ignored;
    ///   `residual` (L, N, E) is added to the output (fused into `out_proj`).
    /// - Returns: (L, N, E).
    func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: [[Bool]]? = nil, residual: Tensor? = nil) -> Tensor {
        multiheadAttention(query: query, key: key, value: value, weights: weights, heads: heads,
                           keyPaddingMask: keyPaddingMask, residual: residual).output
    }
}

/// The DETR `MLP`: Linear layers `<prefix>.layers.{i}` with ReLU between them.
struct MLP: Sendable {
    var layers: [Linear]

    init(weights: StateDict, prefix: String, inputDim: Int, hiddenDim: Int, outputDim: Int, layerCount: Int) {
        var layers: [Linear] = []
        for i in 0..<layerCount {
            let inF = i == 0 ? inputDim : hiddenDim
            let outF = i == layerCount - 1 ? outputDim : hiddenDim
            layers.append(Linear(weights: weights, prefix: "\(prefix).layers.\(i)", inFeatures: inF, outFeatures: outF))
        }
        self.layers = layers
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var x = x
        for (i, layer) in layers.enumerated() {
            x = layer(x)
            if i < layers.count - 1 { x = x.relu() }
        }
        return x
    }
}

/// The position-wise FFN of a transformer layer from its `linear1` / `linear2` modules:
/// `linear2(relu(linear1(x)))`, plus x when `addingInput` (the layer's residual, fused), computed in
/// row blocks by `Tensor.feedForward`.
func feedForward(_ x: Tensor, linear1: Linear, linear2: Linear, addingInput: Bool) -> Tensor {
    x.feedForward(hiddenWeight: linear1.weight, hiddenBias: linear1.bias, outputWeight: linear2.weight, outputBias: linear2.bias,
                  addingInput: addingInput)
}
