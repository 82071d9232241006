// DETR models/deformable_detr.py MLP, holding exactly the official state-dict entries of its module.
import Tensor

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
