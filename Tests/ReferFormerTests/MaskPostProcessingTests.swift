// The pixel decoder's size limit and the post-processing helpers against hand-checked values.
import Testing
import TestSupport
@testable import ReferFormer
import Tensor

@Suite("Pixel decoder input sizes")
struct PixelDecoderSizeTests {
    /// Level sizes of the backbone for a frame side n (each stride-2 op: n → ⌊(n−1)/2⌋+1).
    static func levels(_ n: Int) -> [Int] {
        var sizes: [Int] = [], v = n
        for step in 0..<5 { v = (v - 1) / 2 + 1; if step >= 1 { sizes.append(v) } }
        return sizes  // res2, res3, res4, res5
    }

    @Test("the minimum frame side is the smallest one every reduced self-attention accepts", arguments: [27, 28, 29, 30, 33, 360])
    func minimumSide(_ side: Int) {
        let sizes = Self.levels(side)
        let fits = zip(sizes, CrossModalFPNDecoder.srRatios).allSatisfy { $0 / $1 >= 1 }
        #expect(fits == (side >= CrossModalFPNDecoder.minimumFrameSide), "side \(side): levels \(sizes)")
        #expect(((try? CrossModalFPNDecoder.validateFrameSize(height: side, width: 640)) != nil) == fits)
        #expect(throws: ReferFormerError.self) { try CrossModalFPNDecoder.validateFrameSize(height: 640, width: CrossModalFPNDecoder.minimumFrameSide - 1) }
    }
}

@Suite("Mask post-processing helpers")
struct MaskPostProcessingTests {
    @Test("query choice: mean sigmoid over frames, max over classes, first index on ties")
    func selection() {
        // T = 2, Q = 3, K = 1: mean sigmoid of (0, 0) = 0.5, (2, −2) = 0.5, (1, 1) ≈ 0.731.
        let logits = Tensor(shape: [1, 2, 3, 1], elements: [0, 2, 1, 0, -2, 1])
        let (scores, index) = MaskPostProcessing.selectQuery(predLogits: logits)
        #expect(index == 2, "index \(index), scores \(scores)")
        #expect(abs(scores[0] - 0.5) < 1e-6 && abs(scores[1] - 0.5) < 1e-6, "scores \(scores)")
        let tied = Tensor(shape: [1, 2, 1], elements: [3, 3])
        #expect(MaskPostProcessing.selectQuery(predLogits: tied).queryIndex == 0)
    }

    @Test("clips: whole video, or non-overlapping windows with a shorter last one", arguments: [
        (10, nil as Int?, [0..<10]), (10, 36, [0..<10]), (80, 36, [0..<36, 36..<72, 72..<80]), (72, 36, [0..<36, 36..<72]), (0, 36, []),
    ])
    func clips(_ frames: Int, _ length: Int?, _ expected: [Range<Int>]) {
        #expect(MaskPostProcessing.clipRanges(frameCount: frames, clipLength: length) == expected)
    }

    @Test("DAVIS label map: p < 0.5 dropped, background 0.1, argmax with first index on ties")
    func davis() {
        let a = Tensor(shape: [1, 1, 4], elements: [0.4, 0.6, 0.9, 0.7])
        let b = Tensor(shape: [1, 1, 4], elements: [0.45, 0.8, 0.9, 0.2])
        #expect(MaskPostProcessing.davisLabels(objectProbabilities: [a, b]) == [0, 2, 1, 1])
    }

    @Test("binary masks and probabilities follow sigmoid(logit) > 0.5")
    func threshold() {
        let masks = ClipMasks(scores: [1], queryIndex: 0, maskLogits: Tensor(shape: [1, 1, 4], elements: [-1, 0, 1e-9, 0.01]))
        #expect(masks.binaryMasks() == [0, 0, 0, 1])
        #expect(abs(masks.probabilities.scalars[3] - 0.5025) < 1e-4)
    }
}
