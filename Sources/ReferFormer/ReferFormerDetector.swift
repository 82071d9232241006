// ReferFormer models/referformer.py `ReferFormer.forward` up to the class/box heads: backbone
// (models/backbone.py), position encodings (models/position_encoding.py), input projections and
// early fusion, models/deformable_transformer.py `DeformableTransformer` (encoder, decoder with box
// refinement) and the per-layer `class_embed` / `bbox_embed` heads. The pixel decoder and the dynamic
// mask head (Segmentation/) and the RoBERTa text encoder (TextEncoder/) are separate.
import Tensor

/// ReferFormer's detection path: backbone → input projections → early fusion → deformable encoder →
/// decoder with box refinement → class/box heads. Per frame throughout (frames are a batch).
///
/// Every parameter is taken from a `StateDict` by its official key; `init` does not call
/// `StateDict.finish()` because the text encoder and segmentation parts take the rest of the keys.
public struct ReferFormerDetector: Sendable {
    public let configuration: ReferFormerConfiguration
    var resnet: ResNetBackbone
    var inputProj: [InputProjection]
    var fusion: VisionLanguageFusion
    /// `transformer.level_embed` (L, C)
    var levelEmbed: Tensor
    /// `transformer.reference_points`
    var referencePoints: Linear
    /// `query_embed.weight` (Q, C)
    var queryEmbed: Tensor
    var encoderLayers: [DeformableEncoderLayer]
    var decoderLayers: [DeformableDecoderLayer]
    /// `class_embed.{i}`
    var classEmbed: [Linear]
    /// `bbox_embed.{i}` (the `transformer.decoder.bbox_embed.{i}` twins are the same modules).
    var bboxEmbed: [MLP]

    /// - Throws: `.configuration` if the configuration is invalid. Weight problems are recorded in
    ///   `weights` and reported by its `finish()`.
    public init(configuration c: ReferFormerConfiguration, weights: StateDict) throws(ReferFormerError) {
        try c.validate()
        configuration = c
        let hidden = c.hiddenDim
        weights.allowUnused { $0.hasPrefix("backbone.") && $0.hasSuffix(".num_batches_tracked") }
        // With box refinement the 4 box MLPs are registered twice (spec §2): one copy is loaded, the
        // other may be present or not.
        weights.allowUnused { $0.hasPrefix("transformer.decoder.bbox_embed.") }
        resnet = ResNetBackbone(weights: weights, prefix: "backbone.0.body", description: c.backbone)
        var proj: [InputProjection] = []
        for l in 0..<3 {
            proj.append(InputProjection(weights: weights, prefix: "input_proj.\(l)", inChannels: c.backbone.outChannels(stage: l + 1),
                                        hiddenDim: hidden, kernel: 1, stride: 1, padding: 0))
        }
        proj.append(InputProjection(weights: weights, prefix: "input_proj.3", inChannels: c.backbone.outChannels(stage: 3),
                                    hiddenDim: hidden, kernel: 3, stride: 2, padding: 1))
        inputProj = proj
        fusion = VisionLanguageFusion(weights: weights, prefix: "fusion_module", hiddenDim: hidden)
        levelEmbed = weights.take("transformer.level_embed", shape: [c.numFeatureLevels, hidden])
        referencePoints = Linear(weights: weights, prefix: "transformer.reference_points", inFeatures: hidden, outFeatures: 2)
        queryEmbed = weights.take("query_embed.weight", shape: [c.numQueries, hidden])
        encoderLayers = (0..<c.encLayers).map {
            DeformableEncoderLayer(weights: weights, prefix: "transformer.encoder.layers.\($0)", configuration: c)
        }
        decoderLayers = (0..<c.decLayers).map {
            DeformableDecoderLayer(weights: weights, prefix: "transformer.decoder.layers.\($0)", configuration: c)
        }
        classEmbed = (0..<c.decLayers).map {
            Linear(weights: weights, prefix: "class_embed.\($0)", inFeatures: hidden, outFeatures: c.numClasses)
        }
        bboxEmbed = (0..<c.decLayers).map { i in
            // Either copy of a twin may be loaded (spec §2); prefer the top-level one when present.
            let twin = "transformer.decoder.bbox_embed.\(i)"
            let prefix = !weights.contains("bbox_embed.\(i).layers.0.weight") && weights.contains("\(twin).layers.0.weight")
                ? twin : "bbox_embed.\(i)"
            return MLP(weights: weights, prefix: prefix, inputDim: hidden, hiddenDim: hidden, outputDim: 4, layerCount: 3)
        }
    }

    // MARK: Stages

    /// The ResNet backbone on normalised frames (T, 3, H, W) → res2..res5. Text-independent.
    public func backbone(_ frames: Tensor) -> BackboneFeatures {
        precondition(frames.rank == 4 && frames.shape[1] == 3, "frames must be (T, 3, H, W), got \(frames.shape)")
        return BackboneFeatures(levels: resnet(frames))
    }

    /// `input_proj` of the 4 transformer levels (1×1 + GN on res3..res5, 3×3 s2 + GN on raw res5).
    /// Text-independent.
    public func project(_ features: BackboneFeatures) -> ProjectedFeatures {
        var levels: [Tensor] = []
        for l in 0..<3 { levels.append(inputProj[l](features.levels[l + 1])) }
        levels.append(inputProj[3](features.res5))
        return ProjectedFeatures(levels: levels)
    }

    /// The 2-D sine position encoding of an (h, w) level, (1, C, h, w) (same for every frame).
    public func positionEncoding(height: Int, width: Int) -> Tensor {
        Tensor.sinePositionEncoding2D(height: height, width: width, numPosFeats: configuration.hiddenDim / 2)
    }

    /// The 1-D sine position encoding of the words, (L, 1, C) (`text_pos(...).permute(2, 0, 1)`).
    public func textPositionEncoding(tokenCount: Int) -> Tensor {
        Tensor.sinePositionEncoding1D(length: tokenCount, numPosFeats: configuration.hiddenDim).permuted([2, 0, 1]).contiguous()
    }

    /// Early fusion of every projected level with the words → the transformer `srcs`.
    public func fuse(_ projected: ProjectedFeatures, text: TextFeatures) -> [Tensor] {
        fuse(projected, text: text, textPosition: textPositionEncoding(tokenCount: text.tokenCount))
    }

    /// `fuse(_:text:)` with the words' position encoding (L, 1, C) computed by the caller, which reuses it.
    func fuse(_ projected: ProjectedFeatures, text: TextFeatures, textPosition: Tensor) -> [Tensor] {
        let words = text.wordFeatures.unsqueezed(1)
        return projected.levels.map { fusion($0, words: words, wordsPos: textPosition, keyPaddingMask: text.paddingMask) }
    }

    /// The deformable encoder on fused sources (T, C, h_l, w_l).
    public func encode(sources: [Tensor]) -> EncoderOutput {
        let t = sources[0].shape[0], c = configuration.hiddenDim
        let layout = LevelLayout(shapes: sources.map { (h: $0.shape[2], w: $0.shape[3]) })
        // flatten(2).transpose(1, 2) per level, concatenated level-major.
        let src = Tensor.concat(sources.map { $0.reshaped([t, c, -1]).permuted([0, 2, 1]) }, axis: 1)
        let positions = layout.shapes.map { positionEncoding(height: $0.h, width: $0.w) }
        let pos = Tensor.concat(positions.enumerated().map { (l, p) in
            p.reshaped([1, c, -1]).permuted([0, 2, 1]) + levelEmbed.sliced(0, l..<(l + 1)).unsqueezed(0)
        }, axis: 1)
        let reference = encoderReferencePoints(layout: layout)
        var x = src
        var layers: [Tensor] = []
        for layer in encoderLayers {
            x = layer(x, pos: pos, reference: reference, layout: layout)
            layers.append(x)
        }
        return EncoderOutput(sources: sources, layers: layers, layout: layout, positions: positions)
    }

    /// The decoder with box refinement and the class/box heads of every layer.
    public func decode(_ encoded: EncoderOutput, text: TextFeatures) -> DecoderOutput {
        let t = encoded.memory.shape[0], q = configuration.numQueries, c = configuration.hiddenDim
        var tgt = text.sentenceFeature.reshaped([1, 1, c]).expanded(to: [t, q, c]).contiguous()
        let queryPos = queryEmbed.unsqueezed(0)
        let initReference = referencePoints(queryEmbed).sigmoid().unsqueezed(0).expanded(to: [t, q, 2]).contiguous()
        var reference = initReference
        var out = DecoderOutput(hs: [], initReference: initReference, interReferences: [], samplingLocations: [],
                                attentionWeights: [], logits: [], boxes: [])
        for (i, layer) in decoderLayers.enumerated() {
            let (x, attention) = layer(tgt, queryPos: queryPos, reference: reference, memory: encoded.memory, layout: encoded.layout)
            tgt = x
            reference = refine(reference, delta: bboxEmbed[i](x))
            out.hs.append(x)
            out.interReferences.append(reference)
            out.samplingLocations.append(attention.samplingLocations)
            out.attentionWeights.append(attention.attentionWeights)
            out.logits.append(classEmbed[i](x))
            // Official heads: sigmoid(bbox_embed[i](hs[i]) + logit(ref)) — the same computation as the
            // refinement above with the same inputs, hence bit-identical (spec §3.7).
            out.boxes.append(reference)
        }
        return out
    }

    /// Everything after the backbone for one phrase: projections, fusion, encoder, decoder and heads.
    public func run(_ features: BackboneFeatures, text: TextFeatures) -> (encoder: EncoderOutput, decoder: DecoderOutput) {
        let encoded = encode(sources: fuse(project(features), text: text))
        return (encoded, decode(encoded, text: text))
    }

    /// Box refinement: 2-d ref → `sigmoid([δ_xy + logit(r), δ_wh])`; 4-d → `sigmoid(δ + logit(r))`.
    func refine(_ reference: Tensor, delta: Tensor) -> Tensor {
        let refDim = reference.shape[2]
        let logit = reference.inverseSigmoid(eps: 1e-5)
        if refDim == 4 { return (delta + logit).sigmoid() }
        let xy = delta.sliced(2, 0..<2) + logit
        return Tensor.concat([xy, delta.sliced(2, 2..<4).contiguous()], axis: 2).sigmoid()
    }
}
