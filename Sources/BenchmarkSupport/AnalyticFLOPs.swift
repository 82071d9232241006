// Analytic FLOP counts of the ReferFormer stages, from the configuration and the input size only (never
// measured). Conventions (docs/benchmarks.md, "Analytic FLOPs"): a multiply-add is 2 FLOP; GEMMs,
// linear layers and convolutions count 2·M·N·K; attention counts Q·Kᵀ and A·V (2·2·Nq·Nk·C); a
// deformable-attention sample counts 4 bilinear taps plus its attention weight (5 multiply-adds = 10 FLOP
// per sampling point and channel); bilinear resizing counts 4 multiply-adds (8 FLOP) per output value.
// Element-wise work (norms, activations, softmax, adds, position encodings) is not counted.
import ReferFormer

/// FLOP counting primitives (2 FLOP per multiply-add).
public enum FLOPs {
    /// A 2-D convolution: 2 · Cout · OH · OW · Cin · k² per image (n → ⌊(n + 2p − k)/s⌋ + 1).
    public static func conv2d(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                              height: Int, width: Int, images: Int = 1) -> Double {
        let oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1
        return 2 * Double(images) * Double(outChannels) * Double(oh * ow) * Double(inChannels * kernel * kernel)
    }

    /// A linear layer (or any GEMM) on `rows` tokens: 2 · rows · in · out.
    public static func linear(rows: Int, inFeatures: Int, outFeatures: Int) -> Double {
        2 * Double(rows) * Double(inFeatures) * Double(outFeatures)
    }

    /// Scaled dot-product attention of `queries` tokens over `keys` tokens of width `dim` (all heads
    /// together): Q·Kᵀ and A·V, 2 · 2 · Nq · Nk · dim.
    public static func attention(queries: Int, keys: Int, dim: Int) -> Double {
        4 * Double(queries) * Double(keys) * Double(dim)
    }

    /// `nn.MultiheadAttention` with its four projections (q, out on the queries; k, v on the keys).
    public static func multiheadAttention(queries: Int, keys: Int, dim: Int) -> Double {
        2 * linear(rows: queries, inFeatures: dim, outFeatures: dim) + 2 * linear(rows: keys, inFeatures: dim, outFeatures: dim)
            + attention(queries: queries, keys: keys, dim: dim)
    }

    /// Deformable sampling: every query gathers `levels · points` bilinear samples per channel (4 taps)
    /// and weights them (1 more multiply-add): 10 FLOP per sample and channel.
    public static func deformableSampling(queries: Int, dim: Int, levels: Int, points: Int) -> Double {
        10 * Double(queries) * Double(dim) * Double(levels * points)
    }

    /// One `MSDeformAttn`: value projection over the `values` tokens, offsets, weights and output
    /// projection over the queries, and the sampling.
    public static func deformableAttention(queries: Int, values: Int, dim: Int, heads: Int, levels: Int, points: Int) -> Double {
        let samples = heads * levels * points
        return linear(rows: values, inFeatures: dim, outFeatures: dim)
            + linear(rows: queries, inFeatures: dim, outFeatures: 2 * samples)
            + linear(rows: queries, inFeatures: dim, outFeatures: samples)
            + linear(rows: queries, inFeatures: dim, outFeatures: dim)
            + deformableSampling(queries: queries, dim: dim, levels: levels, points: points)
    }

    /// Bilinear resizing to `outputs` values: 4 multiply-adds each.
    public static func bilinearResize(outputs: Int) -> Double { 8 * Double(outputs) }
}

/// The ReferFormer stages of one clip of `frames` frames at `height`×`width` with a phrase of `tokens`
/// tokens, in FLOP. `perFrame(_:)` divides by the frame count; the text encoder runs once per phrase.
public struct ReferFormerFLOPs: Sendable, Equatable {
    public var text: Double
    public var backbone: Double
    public var projectionsAndFusion: Double
    public var encoder: Double
    public var decoderAndHeads: Double
    public var pixelDecoder: Double
    public var maskHead: Double
    public var postProcessing: Double
    public let frames: Int

    /// Feature-map size after one stride-2 op (kernel 3 pad 1, kernel 1 pad 0, or 3×3 max-pool pad 1):
    /// n → ⌊(n − 1)/2⌋ + 1.
    public static func down(_ n: Int) -> Int { (n - 1) / 2 + 1 }

    /// - Parameters:
    ///   - configuration: the architecture; a Swin / Video-Swin backbone is not counted (0), the other
    ///     stages are (they see the same strides 4…32).
    ///   - originalSize: the frame size the post-processing resizes the chosen masks to (nil: the input size).
    public init(configuration c: ReferFormerConfiguration, height: Int, width: Int, frames t: Int, tokens: Int,
                originalSize: (height: Int, width: Int)? = nil) {
        frames = t
        let hidden = c.hiddenDim
        // Backbone sizes: strides 4, 8, 16, 32; the extra level (3×3 s2 on res5) is stride 64.
        var sizes: [(h: Int, w: Int)] = []
        var (h, w) = (Self.down(Self.down(height)), Self.down(Self.down(width)))
        for stage in 0..<4 {
            if stage > 0 { (h, w) = (Self.down(h), Self.down(w)) }
            sizes.append((h, w))
        }
        let levels: [(h: Int, w: Int)] = [sizes[1], sizes[2], sizes[3], (Self.down(sizes[3].h), Self.down(sizes[3].w))]

        text = Self.text(c.textEncoder, hiddenDim: hidden, tokens: tokens)
        backbone = c.backbone.swin == nil ? Self.backbone(c.backbone, height: height, width: width) * Double(t) : 0

        // input_proj: 1×1 on res3..res5, 3×3 s2 on res5; fusion: every level's tokens attend to the words.
        var projection = 0.0
        for l in 0..<3 {
            projection += FLOPs.conv2d(inChannels: c.backbone.outChannels(stage: l + 1), outChannels: hidden, kernel: 1,
                                       height: sizes[l + 1].h, width: sizes[l + 1].w, images: t)
        }
        projection += FLOPs.conv2d(inChannels: c.backbone.outChannels(stage: 3), outChannels: hidden, kernel: 3, stride: 2, padding: 1,
                                   height: sizes[3].h, width: sizes[3].w, images: t)
        for level in levels {
            projection += FLOPs.multiheadAttention(queries: t * level.h * level.w, keys: tokens, dim: hidden)
        }
        projectionsAndFusion = projection

        // Encoder: S tokens per frame over the 4 levels.
        let s = t * levels.reduce(0) { $0 + $1.h * $1.w }
        let encoderLayer = FLOPs.deformableAttention(queries: s, values: s, dim: hidden, heads: c.nheads, levels: c.numFeatureLevels, points: c.encNPoints)
            + FLOPs.linear(rows: s, inFeatures: hidden, outFeatures: c.dimFeedforward)
            + FLOPs.linear(rows: s, inFeatures: c.dimFeedforward, outFeatures: hidden)
        encoder = Double(c.encLayers) * encoderLayer

        // Decoder: Q queries per frame; the value projection runs over the frame's memory in every layer.
        let q = t * c.numQueries
        let decoderLayer = t > 0
            ? Double(t) * FLOPs.multiheadAttention(queries: c.numQueries, keys: c.numQueries, dim: hidden)
                + FLOPs.deformableAttention(queries: q, values: s, dim: hidden, heads: c.nheads, levels: c.numFeatureLevels, points: c.decNPoints)
                + FLOPs.linear(rows: q, inFeatures: hidden, outFeatures: c.dimFeedforward)
                + FLOPs.linear(rows: q, inFeatures: c.dimFeedforward, outFeatures: hidden)
            : 0
        let heads = FLOPs.linear(rows: q, inFeatures: hidden, outFeatures: c.numClasses)
            + 2 * FLOPs.linear(rows: q, inFeatures: hidden, outFeatures: hidden) + FLOPs.linear(rows: q, inFeatures: hidden, outFeatures: 4)
        decoderAndHeads = Double(c.decLayers) * (decoderLayer + heads) + FLOPs.linear(rows: c.numQueries, inFeatures: hidden, outFeatures: 2)

        pixelDecoder = Self.pixelDecoder(sizes: sizes, frames: t, hiddenDim: hidden, ffnDim: c.dimFeedforward, maskDim: c.maskDim,
                                         res2Channels: c.backbone.outChannels(stage: 0), tokens: tokens)

        // Mask head: controller MLP on the last layer's queries, then the dynamic 1×1 convolutions of
        // every query over the stride-4 map (inputs: mask_dim + 2 relative coordinates).
        let controller = FLOPs.linear(rows: q, inFeatures: hidden, outFeatures: hidden) * Double(c.controllerLayers - 1)
            + FLOPs.linear(rows: q, inFeatures: hidden, outFeatures: c.controllerParameterCount)
        let pixels = Double(sizes[0].h * sizes[0].w)
        maskHead = controller + 2 * Double(q) * pixels * Double(c.controllerWeightNums.reduce(0, +))

        // Post-processing: the chosen query's mask logits resized to the original size, every frame.
        let original = originalSize ?? (height, width)
        postProcessing = FLOPs.bilinearResize(outputs: t * original.height * original.width)
    }

    /// The per-frame stages in report order, with their names (the text encoder is per phrase).
    public var stages: [(name: String, flops: Double)] {
        [("text", text), ("backbone", backbone), ("projections + fusion", projectionsAndFusion), ("encoder", encoder),
         ("decoder + heads", decoderAndHeads), ("pixel decoder", pixelDecoder), ("mask head", maskHead),
         ("post-processing", postProcessing)]
    }

    /// Everything a clip costs except the text encoder (cached per phrase), per frame.
    public var perFrameTotal: Double {
        (backbone + projectionsAndFusion + encoder + decoderAndHeads + pixelDecoder + maskHead + postProcessing) / Double(max(frames, 1))
    }

    /// The convolutions of a torchvision ResNet (bottleneck v1.5: stride on the 3×3) at H×W, one image.
    public static func backbone(_ d: BackboneDescription, height: Int, width: Int) -> Double {
        var flops = FLOPs.conv2d(inChannels: 3, outChannels: BackboneDescription.stemChannels, kernel: 7, stride: 2, padding: 3,
                                 height: height, width: width)
        var h = down(down(height)), w = down(down(width))  // stem, max-pool
        var inC = BackboneDescription.stemChannels
        for (stage, blocks) in d.layers.enumerated() {
            let width = d.width(stage: stage), out = d.outChannels(stage: stage)
            for b in 0..<blocks {
                let cin = b == 0 ? inC : out
                let stride = b == 0 && stage > 0 ? 2 : 1
                flops += FLOPs.conv2d(inChannels: cin, outChannels: width, kernel: 1, height: h, width: w)
                flops += FLOPs.conv2d(inChannels: width, outChannels: width, kernel: 3, stride: stride, padding: 1, height: h, width: w)
                if b == 0 { flops += FLOPs.conv2d(inChannels: cin, outChannels: out, kernel: 1, stride: stride, height: h, width: w) }
                if stride == 2 { (h, w) = (down(h), down(w)) }
                flops += FLOPs.conv2d(inChannels: width, outChannels: out, kernel: 1, height: h, width: w)
            }
            inC = out
        }
        return flops
    }

    /// RoBERTa on `tokens` tokens (every layer: q, k, v, out, attention, FFN), the pooler on `<s>`, and
    /// the FeatureResizer on the words and the sentence.
    public static func text(_ d: TextEncoderDescription, hiddenDim: Int, tokens: Int) -> Double {
        let e = d.hiddenSize
        let layer = FLOPs.multiheadAttention(queries: tokens, keys: tokens, dim: e)
            + FLOPs.linear(rows: tokens, inFeatures: e, outFeatures: d.intermediateSize)
            + FLOPs.linear(rows: tokens, inFeatures: d.intermediateSize, outFeatures: e)
        return Double(d.numHiddenLayers) * layer + FLOPs.linear(rows: 1, inFeatures: e, outFeatures: e)
            + FLOPs.linear(rows: tokens + 1, inFeatures: e, outFeatures: hiddenDim)
    }

    /// The CrossModalFPN pixel decoder over the strides 4…32 (`sizes`): adapter (1×1), vision-language
    /// block (self-attention over the spatially reduced tokens of all frames, cross-attention to the
    /// words, FFN), the 3×3 output layer of each level, and the 3×3 `mask_features`.
    public static func pixelDecoder(sizes: [(h: Int, w: Int)], frames t: Int, hiddenDim c: Int, ffnDim f: Int, maskDim m: Int,
                                    res2Channels: Int, tokens: Int) -> Double {
        var total = 0.0
        for (level, size) in sizes.enumerated() {
            let sr = CrossModalFPNDecoder.srRatios[level]
            let n = t * size.h * size.w, reduced = t * (size.h / sr) * (size.w / sr)
            total += FLOPs.conv2d(inChannels: level == 0 ? res2Channels : c, outChannels: c, kernel: 1, height: size.h, width: size.w, images: t)
            total += FLOPs.multiheadAttention(queries: reduced, keys: reduced, dim: c)
            total += FLOPs.multiheadAttention(queries: n, keys: tokens, dim: c)
            total += FLOPs.linear(rows: n, inFeatures: c, outFeatures: f) + FLOPs.linear(rows: n, inFeatures: f, outFeatures: c)
            total += FLOPs.conv2d(inChannels: c, outChannels: c, kernel: 3, padding: 1, height: size.h, width: size.w, images: t)
            if level == 0 {
                total += FLOPs.conv2d(inChannels: c, outChannels: m, kernel: 3, padding: 1, height: size.h, width: size.w, images: t)
            }
        }
        return total
    }
}
