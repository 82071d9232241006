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
    /// `controller.layers.{0,1,2}.weight` / `.bias`: (C, C), (C, C), (P, C) and their biases.
    let controllerWeights: [Tensor]
    let controllerBiases: [Tensor]
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
    ///   - hiddenDim: `hidden_dim` (controller input and hidden width); `maskDim`: `mask_dim`;
    ///     `controllerLayers`: `controller_layers` (depth of the dynamic conv, 3);
    ///     `dynamicChannels`: `dynamic_mask_channels` (8); `relCoord`: `rel_coord` (true).
    ///     The controller MLP itself always has 3 layers upstream.
    public init(stateDict: StateDict, prefix: String = "controller.", hiddenDim: Int, maskDim: Int,
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
        let p = weightCounts.reduce(0, +) + biasCounts.reduce(0, +)
        let outs = [hiddenDim, hiddenDim, p]
        controllerWeights = (0..<3).map { stateDict.take(prefix + "layers.\($0).weight", shape: [outs[$0], hiddenDim]).contiguous() }
        controllerBiases = (0..<3).map { stateDict.take(prefix + "layers.\($0).bias", shape: [outs[$0]]).contiguous() }
        self.maskDim = maskDim
        self.dynamicChannels = dynamicChannels
        self.controllerLayers = controllerLayers
        self.relCoord = relCoord
    }

    /// The controller MLP: decoder output (…, C) → dynamic parameters θ (…, P)
    /// (`mask_head.params` of the golden data for the last decoder layer).
    public func parameters(_ hs: Tensor) -> Tensor {
        var x = hs.contiguous()
        for i in 0..<3 {
            x = SegmentationKernels.linear(x, weight: controllerWeights[i], bias: controllerBiases[i])
            if i < 2 {
                x.withUnsafeMutableBufferPointer { b in
                    for j in 0..<b.count where b[j] < 0 { b[j] = 0 }
                }
            }
        }
        return x
    }

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
    public func masks(maskFeatures: Tensor, parameters theta: Tensor, references: Tensor, imageSize: (height: Int, width: Int)) -> Tensor {
        let (t, m, h, w) = (maskFeatures.shape[0], maskFeatures.shape[1], maskFeatures.shape[2], maskFeatures.shape[3])
        precondition(maskFeatures.rank == 4 && m == maskDim, "mask features \(maskFeatures.shape), expected (T, \(maskDim), h, w)")
        let p = parameterCount
        precondition(theta.rank == 3 && theta.shape[0] == t && theta.shape[2] == p, "dynamic parameters \(theta.shape), expected (\(t), Q, \(p))")
        let q = theta.shape[1]
        precondition(references.rank == 3 && references.shape[0] == t && references.shape[1] == q && references.shape[2] >= 2,
                     "references \(references.shape), expected (\(t), \(q), ≥2)")
        let hw = h * w
        let d = dynamicChannels
        let inputs0 = m + (relCoord ? 2 : 0)
        let out0 = controllerLayers == 1 ? 1 : d
        let thetaValues = theta.contiguous()
        let refs = references.contiguous().scalars
        // Offsets of the blocks inside θ.
        var offsets: [Int] = []
        var running = 0
        for n in weightCounts + biasCounts { offsets.append(running); running += n }
        let weightOffsets = Array(offsets[0..<controllerLayers]), biasOffsets = Array(offsets[controllerLayers...])

        // Cell centres of the stride-4 grid (official compute_locations: arange(0, w·s, s) + s // 2).
        let s = Self.maskStride
        let gridX = (0..<w).map { Float($0 * s + s / 2) }, gridY = (0..<h).map { Float($0 * s + s / 2) }
        let imageW = Float(imageSize.width), imageH = Float(imageSize.height)

        return Tensor(shape: [t, q, h, w]) { out in
            var first = [Float](repeating: 0, count: q * out0 * hw)  // layer-0 activations, all queries
            var w0 = [Float](repeating: 0, count: q * out0 * m)      // W0 restricted to the M feature inputs
            var hidden = [Float](repeating: 0, count: d * hw), next = [Float](repeating: 0, count: d * hw)
            maskFeatures.withUnsafeBufferPointer { fp in
                thetaValues.withUnsafeBufferPointer { tp in
                    for f in 0..<t {
                        // Gather W0[:, :M] of every query into one (Q·out0 × M) matrix: one GEMM per frame.
                        for qi in 0..<q {
                            let params = tp.baseAddress! + (f * q + qi) * p
                            for o in 0..<out0 {
                                for i in 0..<m { w0[(qi * out0 + o) * m + i] = params[weightOffsets[0] + o * inputs0 + i] }
                            }
                        }
                        w0.withUnsafeBufferPointer { wp in
                            first.withUnsafeMutableBufferPointer { hp in
                                BLAS.sgemm(m: q * out0, n: hw, k: m, a: wp.baseAddress!, lda: m,
                                           b: fp.baseAddress! + f * m * hw, ldb: hw, c: hp.baseAddress!, ldc: hw)
                            }
                        }
                        for qi in 0..<q {
                            let params = tp.baseAddress! + (f * q + qi) * p
                            // Reference centre in pixels: reference · [W, H] (float32 as torch).
                            let cx = refs[(f * q + qi) * references.shape[2]] * imageW
                            let cy = refs[(f * q + qi) * references.shape[2] + 1] * imageH
                            let dst = out.baseAddress! + (f * q + qi) * hw
                            // Layer 0: add coordinate inputs and bias (+ ReLU unless it is the last layer).
                            first.withUnsafeMutableBufferPointer { hp in
                                for o in 0..<out0 {
                                    let row = hp.baseAddress! + (qi * out0 + o) * hw
                                    let bias = params[biasOffsets[0] + o]
                                    let wx = relCoord ? params[weightOffsets[0] + o * inputs0 + m] : 0
                                    let wy = relCoord ? params[weightOffsets[0] + o * inputs0 + m + 1] : 0
                                    for yy in 0..<h {
                                        let ry = cy - gridY[yy]
                                        for xx in 0..<w {
                                            let i = yy * w + xx
                                            var v = row[i] + bias
                                            if relCoord { v += wx * (cx - gridX[xx]) + wy * ry }
                                            row[i] = controllerLayers == 1 ? v : max(v, 0)
                                        }
                                    }
                                }
                                if controllerLayers == 1 {
                                    dst.update(from: hp.baseAddress! + qi * hw, count: hw)
                                    return
                                }
                                hidden.withUnsafeMutableBufferPointer { hb in
                                    hb.baseAddress!.update(from: hp.baseAddress! + qi * out0 * hw, count: d * hw)
                                }
                            }
                            if controllerLayers == 1 { continue }
                            // Layers 1…: per-pixel D×D (last: 1×D) products, vectorised along the pixels.
                            for l in 1..<controllerLayers {
                                let last = l == controllerLayers - 1
                                let outputs = last ? 1 : d
                                hidden.withUnsafeBufferPointer { hb in
                                    next.withUnsafeMutableBufferPointer { nb in
                                        for o in 0..<outputs {
                                            let target = last ? dst : nb.baseAddress! + o * hw
                                            let bias = params[biasOffsets[l] + o]
                                            for i in 0..<hw { target[i] = bias }
                                            for c in 0..<d {
                                                let wv = params[weightOffsets[l] + o * d + c]
                                                let src = hb.baseAddress! + c * hw
                                                for i in 0..<hw { target[i] += wv * src[i] }
                                            }
                                            if !last { for i in 0..<hw { target[i] = max(target[i], 0) } }
                                        }
                                    }
                                }
                                if !last { swap(&hidden, &next) }
                            }
                        }
                    }
                }
            }
        }
    }
}
