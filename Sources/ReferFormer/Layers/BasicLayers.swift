// PyTorch torch.nn building blocks used by ReferFormer (Linear, LayerNorm, GroupNorm, Conv2d,
// MultiheadAttention), each holding exactly the official state-dict entries of its module.
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

    func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
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
}

/// torch.nn.Conv2d (square kernel): `<prefix>.weight` (out, in, k, k), optional `<prefix>.bias`.
struct Conv2d: Sendable {
    var weight: Tensor
    var bias: Tensor?
    var stride: Int
    var padding: Int

    init(weights: StateDict, prefix: String, inChannels: Int, outChannels: Int, kernel: Int,
         stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        weight = weights.take("\(prefix).weight", shape: [outChannels, inChannels, kernel, kernel])
        self.bias = bias ? weights.take("\(prefix).bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = padding
    }

    init(weight: Tensor, bias: Tensor?, stride: Int, padding: Int) {
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
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

    /// - Parameters: query (L, N, E), key and value (S, N, E); `keyPaddingMask` N × S, true = ignored.
    /// - Returns: (L, N, E).
    func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: [[Bool]]? = nil) -> Tensor {
        multiheadAttention(query: query, key: key, value: value, weights: weights, heads: heads,
                                  keyPaddingMask: keyPaddingMask).output
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
