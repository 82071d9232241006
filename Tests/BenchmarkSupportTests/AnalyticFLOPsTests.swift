import BenchmarkSupport
import Foundation
import ReferFormer
import Testing

@Suite struct AnalyticFLOPsTests {
    @Test func convolutionCountsTwoFLOPPerMultiplyAdd() {
        // ResNet stem at 224²: 64 × 112 × 112 outputs, each 3 × 7 × 7 multiply-adds (torchvision: 118.0 M MACs).
        let stem: Int = 2 * 64 * 112 * 112 * 3 * 49
        #expect(FLOPs.conv2d(inChannels: 3, outChannels: 64, kernel: 7, stride: 2, padding: 3, height: 224, width: 224) == Double(stem))
        // A 3×3 stride-2 convolution on an odd map: ⌊(13 + 2 − 3)/2⌋ + 1 = 7 by 10 outputs, two images.
        let strided: Int = 2 * 2 * 5 * 7 * 10 * 6 * 9
        #expect(FLOPs.conv2d(inChannels: 6, outChannels: 5, kernel: 3, stride: 2, padding: 1, height: 13, width: 19, images: 2)
                == Double(strided))
        let linear: Int = 2 * 16 * 768 * 3072
        #expect(FLOPs.linear(rows: 16, inFeatures: 768, outFeatures: 3072) == Double(linear))
    }

    @Test func attentionCountsProjectionsAndBothProducts() {
        // 100 queries over 16 keys, width 256: q and out projections on 100 rows, k and v on 16, then
        // Q·Kᵀ (100×16×256) and A·V (100×256×16) multiply-adds.
        let projections: Int = 2 * 100 * 256 * 256 + 2 * 16 * 256 * 256
        let products: Int = 2 * 100 * 16 * 256
        #expect(FLOPs.multiheadAttention(queries: 100, keys: 16, dim: 256) == Double(2 * (projections + products)))
        // MSDeformAttn, 10 queries over 50 values, 8 heads × 4 levels × 4 points: value projection (50 rows),
        // offsets (256 → 256) and weights (256 → 128) and output projection (10 rows), 5 multiply-adds per
        // sample and channel.
        let valueProjection: Int = 50 * 256 * 256
        let queryLinears: Int = 10 * 256 * 256 + 10 * 256 * 128 + 10 * 256 * 256
        let sampling: Int = 5 * 10 * 256 * 16
        #expect(FLOPs.deformableAttention(queries: 10, values: 50, dim: 256, heads: 8, levels: 4, points: 4)
                == Double(2 * (valueProjection + queryLinears + sampling)))
    }

    /// Reference: PyTorch forward hooks on torchvision's resnet50 summing 2 · output elements · Cin · k²
    /// over every Conv2d (run once with torch 2.13 / torchvision 0.28; the fc layer excluded).
    @Test(arguments: [(224, 224, 8_174_272_512.0), (360, 640, 38_266_306_560.0), (97, 131, 2_563_769_088.0)])
    func resNet50MatchesTorchvisionConvolutions(height: Int, width: Int, torchvision: Double) {
        #expect(ReferFormerFLOPs.backbone(.resnet50, height: height, width: width) == torchvision)
    }

    @Test func stagesScaleWithFramesAndTextIsPerPhrase() {
        let c = ReferFormerConfiguration()
        let one = ReferFormerFLOPs(configuration: c, height: 360, width: 640, frames: 1, tokens: 16)
        let two = ReferFormerFLOPs(configuration: c, height: 360, width: 640, frames: 2, tokens: 16)
        #expect(two.backbone == 2 * one.backbone)
        #expect(two.encoder == 2 * one.encoder)
        #expect(two.text == one.text)
        // The pixel decoder's self-attention spans the clip's frames: more than twice the work.
        #expect(two.pixelDecoder > 2 * one.pixelDecoder)
        // Encoder at 360×640: S = 45·80 + 23·40 + 12·20 + 6·10 = 4820 tokens per frame, 4 layers.
        let s = 4820
        let attention: Int = s * 256 * 256 + s * 256 * 256 + s * 256 * 128 + s * 256 * 256 + 5 * s * 256 * 16
        let ffn: Int = 2 * s * 256 * 2048
        #expect(one.encoder == Double(4 * 2 * (attention + ffn)))
        #expect(one.stages.map(\.name) == ["text", "backbone", "projections + fusion", "encoder", "decoder + heads", "pixel decoder",
                                           "mask head", "post-processing"])
        #expect(abs(one.perFrameTotal - (one.stages.dropFirst().map(\.flops).reduce(0, +))) < 1)
    }

    @Test func swinBackboneIsNotCounted() throws {
        var c = ReferFormerConfiguration()
        c.backbone = try #require(BackboneDescription(officialName: "swin_t_p4w7"))
        let flops = ReferFormerFLOPs(configuration: c, height: 224, width: 224, frames: 1, tokens: 8)
        #expect(flops.backbone == 0)
        #expect(flops.encoder > 0)
    }
}
