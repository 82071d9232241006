// ReferFormer models/referformer.py, ReferFormer.controller (MLP, 3 layers) + dynamic_mask_with_coords,
// parse_dynamic_params, mask_heads_forward, compute_locations (aligned_bilinear with factor 1 = identity)
import Tensor

/// The dynamic mask head: the controller MLP turns each query's decoder output into the weights of a
/// small per-query 1×1-conv network, which runs over the stride-4 mask features (plus two relative
/// coordinate channels) and gives that query's mask logits (`controller.*`).
///
/// Parameter layout (official `parse_dynamic_params`): θ is split, in this order, into the weights of
/// the `controllerLayers` convs then their biases: W0 (D × (M+2), row-major out × in), W1 (D × D), …,
/// W_last (1 × D), b0 (D), b1 (D), …, b_last (1); D = `dynamicChannels`, M = `maskDim`, the +2 only
/// with `relCoord`. Relative coordinates are in pixels of the resized frame: for the cell (i, j) of the
/// stride-4 grid, `(cx·W − (4j + 2), cy·H − (4i + 2))` with (cx, cy) the query's reference centre and
/// (H, W) the network input size (`targets['size']`); not normalised. The mask-feature stride equals
/// the output stride (4), so `aligned_bilinear` is the identity and masks stay at stride 4.
public struct DynamicMaskHead: Sendable {
    /// `controller` (DETR `MLP`, 3 layers: C → C → C → P).
    var controller: MLP
    public let maskDim: Int
    public let dynamicChannels: Int
    public let controllerLayers: Int
    public let relCoord: Bool
    /// Stride of the mask features relative to the input frame (`mask_feat_stride`).
    public static let maskStride = 4

    /// Sizes of the weight blocks of θ, in order (official `weight_nums`).
    public let weightCounts: [Int]
    /// Sizes of the bias blocks of θ, in order (official `bias_nums`).
    public let biasCounts: [Int]
    /// P = Σ weightCounts + Σ biasCounts (2153 for the R50 model).
    public var parameterCount: Int { weightCounts.reduce(0, +) + biasCounts.reduce(0, +) }

    /// - Parameters:
    ///   - prefix: `controller`.
    ///   - hiddenDim: `hidden_dim` (controller input and hidden width); `maskDim`: `mask_dim`;
    ///     `controllerLayers`: `controller_layers` (depth of the dynamic conv, 3);
    ///     `dynamicChannels`: `dynamic_mask_channels` (8); `relCoord`: `rel_coord` (true).
    ///     The controller MLP itself always has 3 layers upstream.
    public init(weights: StateDict, prefix: String = "controller", hiddenDim: Int, maskDim: Int,
                controllerLayers: Int = 3, dynamicChannels: Int = 8, relCoord: Bool = true) {
        precondition(controllerLayers >= 1, "controller_layers \(controllerLayers)")
        var weightCounts: [Int] = [], biasCounts: [Int] = []
        for l in 0..<controllerLayers {
            let inputs = l == 0 ? maskDim + (relCoord ? 2 : 0) : dynamicChannels
            let outputs = l == controllerLayers - 1 ? 1 : dynamicChannels
            weightCounts.append(inputs * outputs)
            biasCounts.append(outputs)
        }
        self.weightCounts = weightCounts
        self.biasCounts = biasCounts
        controller = MLP(weights: weights, prefix: prefix, inputDim: hiddenDim, hiddenDim: hiddenDim,
                         outputDim: weightCounts.reduce(0, +) + biasCounts.reduce(0, +), layerCount: 3)
        self.maskDim = maskDim
        self.dynamicChannels = dynamicChannels
        self.controllerLayers = controllerLayers
        self.relCoord = relCoord
    }

    /// The controller MLP: decoder output (…, C) → dynamic parameters θ (…, P)
    /// (`mask_head.params` of the golden data for the last decoder layer).
    public func parameters(_ hs: Tensor) -> Tensor { controller(hs) }

    /// Mask logits of every query of every frame.
    ///
    /// - Parameters:
    ///   - maskFeatures: pixel-decoder output (T, maskDim, h, w) at stride 4.
    ///   - hs: decoder output of one layer (T, Q, C) (the last one for `pred_masks`).
    ///   - references: that layer's refined boxes (T, Q, ≥ 2), centre (cx, cy) first, in [0, 1]
    ///     (`inter_references[layer]`, = `pred_boxes` for the last layer).
    ///   - imageSize: (H, W) of the network input (the resized frame).
    /// - Returns: `pred_masks` logits (T, Q, h, w).
    public func callAsFunction(maskFeatures: Tensor, hs: Tensor, references: Tensor, imageSize: (height: Int, width: Int)) -> Tensor {
        masks(maskFeatures: maskFeatures, parameters: parameters(hs), references: references, imageSize: imageSize)
    }

    /// The dynamic convolution with given parameters θ (T, Q, P); see `callAsFunction`.
    ///
    /// Layer 0 is one batched product per frame, (Q·D × M) weights of every query × the (M × h·w)
    /// features, then `+ b₀ + (w_x·Δx + w_y·Δy)` for the two coordinate inputs, ReLU; each further layer
    /// a (D × D) (last: 1 × D) product per query. Official order of the sums per element.
    public func masks(maskFeatures: Tensor, parameters theta: Tensor, references: Tensor, imageSize: (height: Int, width: Int)) -> Tensor {
        let (t, m, h, w) = (maskFeatures.shape[0], maskFeatures.shape[1], maskFeatures.shape[2], maskFeatures.shape[3])
        precondition(maskFeatures.rank == 4 && m == maskDim, "mask features \(maskFeatures.shape), expected (T, \(maskDim), h, w)")
        let p = parameterCount
        precondition(theta.rank == 3 && theta.shape[0] == t && theta.shape[2] == p, "dynamic parameters \(theta.shape), expected (\(t), Q, \(p))")
        let q = theta.shape[1]
        precondition(references.rank == 3 && references.shape[0] == t && references.shape[1] == q && references.shape[2] >= 2,
                     "references \(references.shape), expected (\(t), \(q), ≥2)")
        let d = dynamicChannels
        let inputs0 = m + (relCoord ? 2 : 0)
        // Blocks of θ (official parse_dynamic_params): weights of every layer, then their biases.
        var offsets: [Int] = []
        var running = 0
        for n in weightCounts + biasCounts { offsets.append(running); running += n }
        func block(_ index: Int, _ shape: [Int]) -> Tensor {
            theta.sliced(2, offsets[index]..<(offsets[index] + (weightCounts + biasCounts)[index])).contiguous().reshaped([t, q] + shape)
        }
        let layers = controllerLayers
        let outputs = (0..<layers).map { $0 == layers - 1 ? 1 : d }

        // Layer 0 over the M feature inputs: (T, Q·out₀, M) × (T, M, h·w).
        let w0 = block(0, [outputs[0], inputs0])
        let features = maskFeatures.reshaped([t, m, h * w])
        var x = w0.sliced(3, 0..<m).reshaped([t, q * outputs[0], m]).matmul(features)
            .reshaped([t, q, outputs[0], h, w]) + block(layers, [outputs[0], 1, 1])
        if relCoord {
            // Relative coordinates in pixels of the network input: reference centre · (W, H) minus the
            // stride-4 cell centres (official compute_locations: arange(0, w·s, s) + s // 2).
            let s = Self.maskStride
            let gridX = Tensor(shape: [1, 1, 1, 1, w], elements: (0..<w).map { Float($0 * s + s / 2) })
            let gridY = Tensor(shape: [1, 1, 1, h, 1], elements: (0..<h).map { Float($0 * s + s / 2) })
            let centres = references.sliced(2, 0..<2).contiguous()
            let cx = centres.sliced(2, 0..<1).reshaped([t, q, 1, 1, 1]) * Float(imageSize.width)
            let cy = centres.sliced(2, 1..<2).reshaped([t, q, 1, 1, 1]) * Float(imageSize.height)
            let wx = w0.sliced(3, m..<(m + 1)).reshaped([t, q, outputs[0], 1, 1])
            let wy = w0.sliced(3, (m + 1)..<(m + 2)).reshaped([t, q, outputs[0], 1, 1])
            x = x + (wx * (cx - gridX) + wy * (cy - gridY))
        }
        if layers > 1 { x.applyReLU() }
        // Layers 1…: per query (out × D) · (D × h·w).
        var hidden = x.reshaped([t, q, outputs[0], h * w])
        for l in 1..<max(layers, 1) {
            hidden = block(l, [outputs[l], d]).matmul(hidden) + block(layers + l, [outputs[l], 1])
            if l < layers - 1 { hidden.applyReLU() }
        }
        return hidden.reshaped([t, q, h, w])
    }
}
