// ReferFormer models/backbone.py `Backbone` (torchvision resnet50 with FrozenBatchNorm2d, layer1..layer4
// via IntermediateLayerGetter) and torchvision models/resnet.py `ResNet`, `Bottleneck` (v1.5: stride on
// the 3×3 conv).
import Tensor

/// A convolution followed by a FrozenBatchNorm2d, folded into one convolution with bias at load time:
/// `W' = W · s`, `b' = b − rm · s` with `s = w / sqrt(rv + 1e-5)`.
///
/// Keys: `<conv>.weight`, and `<bn>.weight`, `<bn>.bias`, `<bn>.running_mean`, `<bn>.running_var`
/// (the official FrozenBatchNorm2d buffers); all five are consumed by this one folded layer.
struct FrozenBatchNormConv: Sendable {
    var conv: Conv2d

    init(weights: StateDict, conv: String, bn: String, inChannels: Int, outChannels: Int, kernel: Int,
         stride: Int = 1, padding: Int = 0) {
        let w = weights.take("\(conv).weight", shape: [outChannels, inChannels, kernel, kernel])
        let folded = Tensor.foldBatchNorm(
            convWeight: w, convBias: nil,
            weight: weights.take("\(bn).weight", shape: [outChannels]),
            bias: weights.take("\(bn).bias", shape: [outChannels]),
            runningMean: weights.take("\(bn).running_mean", shape: [outChannels]),
            runningVar: weights.take("\(bn).running_var", shape: [outChannels]),
            eps: 1e-5)
        self.conv = Conv2d(weight: folded.weight, bias: folded.bias, stride: stride, padding: padding)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// torchvision `Bottleneck`: 1×1 → 3×3 (stride) → 1×1 (×4), each with FrozenBN, identity or
/// downsample (1×1 stride conv + BN), ReLU.
struct Bottleneck: Sendable {
    var conv1: FrozenBatchNormConv
    var conv2: FrozenBatchNormConv
    var conv3: FrozenBatchNormConv
    var downsample: FrozenBatchNormConv?

    init(weights: StateDict, prefix: String, inChannels: Int, width: Int, outChannels: Int, stride: Int) {
        conv1 = FrozenBatchNormConv(weights: weights, conv: "\(prefix).conv1", bn: "\(prefix).bn1",
                                    inChannels: inChannels, outChannels: width, kernel: 1)
        conv2 = FrozenBatchNormConv(weights: weights, conv: "\(prefix).conv2", bn: "\(prefix).bn2",
                                    inChannels: width, outChannels: width, kernel: 3, stride: stride, padding: 1)
        conv3 = FrozenBatchNormConv(weights: weights, conv: "\(prefix).conv3", bn: "\(prefix).bn3",
                                    inChannels: width, outChannels: outChannels, kernel: 1)
        if stride != 1 || inChannels != outChannels {
            downsample = FrozenBatchNormConv(weights: weights, conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1",
                                             inChannels: inChannels, outChannels: outChannels, kernel: 1, stride: stride)
        }
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        // The activations are fresh, uniquely owned tensors: ReLU and the residual add run in place
        // (no extra full-size buffers per block).
        var a = conv1(x)
        a.applyReLU()
        var b = conv2(a)
        b.applyReLU()
        var y = conv3(b)
        y.applyAddReLU(downsample.map { $0(x) } ?? x)
        return y
    }
}

/// The ResNet body (`backbone.0.body.*`): stem, maxpool, layer1..layer4; returns res2..res5.
struct ResNetBackbone: Sendable {
    var stem: FrozenBatchNormConv
    var stages: [[Bottleneck]]

    init(weights: StateDict, prefix: String, description: BackboneDescription) {
        stem = FrozenBatchNormConv(weights: weights, conv: "\(prefix).conv1", bn: "\(prefix).bn1", inChannels: 3,
                                   outChannels: BackboneDescription.stemChannels, kernel: 7, stride: 2, padding: 3)
        var stages: [[Bottleneck]] = []
        var inChannels = BackboneDescription.stemChannels
        for (i, blocks) in description.layers.enumerated() {
            var stage: [Bottleneck] = []
            let out = description.outChannels(stage: i)
            for b in 0..<blocks {
                stage.append(Bottleneck(weights: weights, prefix: "\(prefix).layer\(i + 1).\(b)",
                                        inChannels: b == 0 ? inChannels : out, width: description.width(stage: i),
                                        outChannels: out, stride: b == 0 && i > 0 ? 2 : 1))
            }
            inChannels = out
            stages.append(stage)
        }
        self.stages = stages
    }

    /// - Parameter images: (N, 3, H, W) normalised frames.
    /// - Returns: res2..res5, (N, 256·2^i, ⌈H/2^(i+2)⌉, …).
    func callAsFunction(_ images: Tensor) -> [Tensor] {
        var stemOut = stem(images)
        stemOut.applyReLU()
        var x = stemOut.maxPool2d(kernel: 3, stride: 2, padding: 1)
        var outputs: [Tensor] = []
        for stage in stages {
            for block in stage { x = block(x) }
            outputs.append(x)
        }
        return outputs
    }
}
