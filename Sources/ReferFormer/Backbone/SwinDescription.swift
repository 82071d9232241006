// ReferFormer models/swin_transformer.py and models/video_swin_transformer.py: the `configs` dicts
// behind the official `--backbone` names swin_{t,s,b,l}_p4w7 and video_swin_{t,s,b}_p4w7.

/// A Swin (2-D, per frame) or Video-Swin (3-D windows over the clip) backbone, with the official
/// keyword arguments as coding keys.
public struct SwinDescription: Codable, Sendable, Equatable {
    /// Video-Swin (`SwinTransformer3D`): windows span frames, so features are per clip.
    public var video: Bool
    /// `embed_dim` C: stage i has C·2^i channels.
    public var embedDim: Int
    /// `depths`: blocks per stage.
    public var depths: [Int]
    /// `num_heads` per stage.
    public var numHeads: [Int]
    /// `window_size`: [W] for Swin (W×W windows), [Wd, Wh, Ww] for Video-Swin.
    public var windowSize: [Int]
    /// `mlp_ratio`: the MLP's hidden width over the stage width.
    public var mlpRatio: Double
    /// `patch_norm`: a LayerNorm after the patch embedding.
    public var patchNorm: Bool
    /// Spatial patch size (4 in every official configuration; 1 in time for Video-Swin).
    public var patchSize: Int

    enum CodingKeys: String, CodingKey {
        case video, embedDim = "embed_dim", depths, numHeads = "num_heads", windowSize = "window_size"
        case mlpRatio = "mlp_ratio", patchNorm = "patch_norm", patchSize = "patch_size"
    }

    public init(video: Bool, embedDim: Int, depths: [Int], numHeads: [Int], windowSize: [Int],
                mlpRatio: Double = 4, patchNorm: Bool = true, patchSize: Int = 4) {
        self.video = video
        self.embedDim = embedDim
        self.depths = depths
        self.numHeads = numHeads
        self.windowSize = windowSize
        self.mlpRatio = mlpRatio
        self.patchNorm = patchNorm
        self.patchSize = patchSize
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        video = try c.decodeIfPresent(Bool.self, forKey: .video) ?? false
        embedDim = try c.decode(Int.self, forKey: .embedDim)
        depths = try c.decode([Int].self, forKey: .depths)
        numHeads = try c.decode([Int].self, forKey: .numHeads)
        if let w = try? c.decode(Int.self, forKey: .windowSize) { windowSize = [w] } else { windowSize = try c.decode([Int].self, forKey: .windowSize) }
        mlpRatio = try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? 4
        patchNorm = try c.decodeIfPresent(Bool.self, forKey: .patchNorm) ?? true
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? 4
    }

    /// The window as (d, h, w): Swin's W becomes (1, W, W).
    var window3D: [Int] { windowSize.count == 1 ? [1, windowSize[0], windowSize[0]] : windowSize }

    /// Output channels of stage `i`: C·2^i.
    public func outChannels(stage i: Int) -> Int { embedDim << i }

    /// Problems that make this description unrunnable (empty when it is fine).
    var problems: [String] {
        var p: [String] = []
        if embedDim < 1 { p.append("embed_dim \(embedDim) must be positive") }
        if depths.count != 4 || depths.contains(where: { $0 < 1 }) { p.append("depths \(depths) must be 4 positive block counts") }
        if numHeads.count != depths.count { p.append("num_heads \(numHeads) must have one entry per stage") }
        for (i, h) in numHeads.enumerated() where h < 1 || outChannels(stage: i) % h != 0 {
            p.append("num_heads \(h) of stage \(i) must divide its \(outChannels(stage: i)) channels")
        }
        if windowSize.count != (video ? 3 : 1) || windowSize.contains(where: { $0 < 1 }) {
            p.append("window_size \(windowSize) must be \(video ? "[Wd, Wh, Ww]" : "one positive size")")
        }
        if patchSize != 4 { p.append("patch_size \(patchSize): the official backbones use 4") }
        if mlpRatio <= 0 || (Double(embedDim) * mlpRatio).rounded() != Double(embedDim) * mlpRatio { p.append("mlp_ratio \(mlpRatio) must give whole MLP widths") }
        return p
    }

    // MARK: Official presets (`configs` in the official files)

    public static let swinT = SwinDescription(video: false, embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], windowSize: [7])
    public static let swinS = SwinDescription(video: false, embedDim: 96, depths: [2, 2, 18, 2], numHeads: [3, 6, 12, 24], windowSize: [7])
    public static let swinB = SwinDescription(video: false, embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32], windowSize: [7])
    public static let swinL = SwinDescription(video: false, embedDim: 192, depths: [2, 2, 18, 2], numHeads: [6, 12, 24, 48], windowSize: [7])
    public static let videoSwinT = SwinDescription(video: true, embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], windowSize: [8, 7, 7])
    public static let videoSwinS = SwinDescription(video: true, embedDim: 96, depths: [2, 2, 18, 2], numHeads: [3, 6, 12, 24], windowSize: [8, 7, 7])
    public static let videoSwinB = SwinDescription(video: true, embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32], windowSize: [8, 7, 7])

    /// The official `--backbone` names and their configurations.
    public static let officialPresets: [(name: String, description: SwinDescription)] = [
        ("swin_t_p4w7", swinT), ("swin_s_p4w7", swinS), ("swin_b_p4w7", swinB), ("swin_l_p4w7", swinL),
        ("video_swin_t_p4w7", videoSwinT), ("video_swin_s_p4w7", videoSwinS), ("video_swin_b_p4w7", videoSwinB),
    ]

    public init?(officialName name: String) {
        guard let preset = SwinDescription.officialPresets.first(where: { $0.name == name }) else { return nil }
        self = preset.description
    }

    public var officialName: String? { SwinDescription.officialPresets.first(where: { $0.description == self })?.name }
}

extension SwinDescription: CustomStringConvertible {
    /// `{embed_dim: 96, depths: [2, 2, 6, 2], num_heads: [3, 6, 12, 24], window_size: [7], …}`.
    public var description: String {
        "{\(video ? "video, " : "")embed_dim: \(embedDim), depths: \(depths), num_heads: \(numHeads), window_size: \(windowSize), "
            + "mlp_ratio: \(mlpRatio), patch_norm: \(patchNorm)}"
    }
}
