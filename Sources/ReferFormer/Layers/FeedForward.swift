// ReferFormer models/deformable_transformer.py and segmentation.py: the FFN of a transformer layer (linear1, ReLU, linear2).
import Tensor

/// The position-wise FFN of a transformer layer from its `linear1` / `linear2` modules:
/// `linear2(relu(linear1(x)))`, plus x when `addingInput` (the layer's residual, fused), computed in
/// row blocks by `Tensor.feedForward`.
func feedForward(_ x: Tensor, linear1: Linear, linear2: Linear, addingInput: Bool) -> Tensor {
    x.feedForward(hiddenWeight: linear1.weight, hiddenBias: linear1.bias, outputWeight: linear2.weight, outputBias: linear2.bias,
                  addingInput: addingInput)
}
