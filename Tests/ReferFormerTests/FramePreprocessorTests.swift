import Foundation
import TestSupport
import Testing
import Tensor
@testable import ReferFormer

/// `ToTensor` + `Normalize` parity and the frame/batch API (golden §4).
@Suite("Frame preprocessing")
struct FramePreprocessorTests {
    @Test("normalisation table equals torchvision's bit-exactly")
    func table() throws {
        let (shape, golden) = try PreprocessingFixtures.tensors().floats("normalize_lut")
        #expect(shape == [3, 256])
        let ours = try FramePreprocessor().normalizationTable
        let differing = zip(ours, golden).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        let shown = differing.prefix(5).map { "[\($0.offset / 256), \($0.offset % 256)]: \($0.element.0) vs \($0.element.1)" }
        #expect(differing.isEmpty, "\(differing.count) of 768 entries differ: \(shown)")
    }

    @Test("normalised image2 equals the golden crop bit-exactly")
    func normalizedCrop() throws {
        let image = try #require(try PreprocessingFixtures.manifest().images.first { $0.name == "image2" })
        let source = SyntheticImage.make(width: image.source_width, height: image.source_height, seed: image.seed)
        let tensor = try FramePreprocessor().preprocess(source, height: image.source_height, width: image.source_width)
        #expect(tensor.shape == [3, image.resized_height, image.resized_width])
        let (shape, golden) = try PreprocessingFixtures.tensors().floats("image2.normalized_crop")
        #expect(shape == [3, 40, 60])
        let crop = tensor.sliced(1, 300..<340).sliced(2, 100..<160).contiguous().scalars
        var differing = 0, maxAbs: Float = 0
        for (a, b) in zip(crop, golden) where a.bitPattern != b.bitPattern {
            differing += 1
            maxAbs = max(maxAbs, abs(a - b))
        }
        #expect(crop.count == golden.count && differing == 0, "\(differing) of \(golden.count) values differ, max |Δ| = \(maxAbs)")
    }

    @Test("batch stacks frames as (T, 3, H, W), each equal to the single-frame result")
    func batch() throws {
        let pre = try FramePreprocessor(options: .init(shorterSide: 24))
        let a = SyntheticImage.make(width: 64, height: 48, seed: 1)
        let b = SyntheticImage.make(width: 64, height: 48, seed: 2)
        let clip = try pre.batch([a, b], height: 48, width: 64)
        #expect(clip.shape == [2, 3, 24, 32])
        let single = try pre.preprocess(b, height: 48, width: 64)
        #expect(clip.selecting(0, 1).contiguous().scalars == single.scalars)
        // Channel planes come from the resized bytes through the table.
        let resized = try PillowResize(sourceWidth: 64, sourceHeight: 48, targetWidth: 32, targetHeight: 24).resize(b)
        let table = pre.normalizationTable
        #expect(single[1, 5, 7] == table[256 + Int(resized[(5 * 32 + 7) * 3 + 1])])
        #expect(single[2, 23, 31] == table[512 + Int(resized[(23 * 32 + 31) * 3 + 2])])
    }

    @Test("resize .none normalises frames at the size they come in")
    func noResize() throws {
        let pre = try FramePreprocessor(options: .init(resize: .none))
        let frame = SyntheticImage.make(width: 13, height: 9, seed: 3)
        let t = try pre.preprocess(frame, height: 9, width: 13)
        #expect(t.shape == [3, 9, 13])
        #expect(t[0, 8, 12] == pre.normalizationTable[Int(frame[(8 * 13 + 12) * 3])])
        #expect(pre.resizer(height: 9, width: 13) == nil)
    }

    @Test("a frame already at model size is not resampled (torchvision returns it unchanged)")
    func alreadyModelSize() throws {
        let pre = try FramePreprocessor(options: .init(shorterSide: 9))
        #expect(pre.resizer(height: 9, width: 13) == nil)
        let frame = SyntheticImage.make(width: 13, height: 9, seed: 4)
        let t = try pre.preprocess(frame, height: 9, width: 13)
        #expect(t[1, 4, 6] == pre.normalizationTable[256 + Int(frame[(4 * 13 + 6) * 3 + 1])])
    }

    @Test("bad input and configuration throw")
    func errors() throws {
        let pre = try FramePreprocessor()
        #expect(throws: ReferFormerError.self) { try pre.preprocess([1, 2, 3], height: 2, width: 2) }
        #expect(throws: ReferFormerError.self) { try pre.batch([], height: 2, width: 2) }
        #expect(throws: ReferFormerError.self) { try pre.batch([[0, 0, 0]], height: 0, width: 1) }
        #expect(throws: ReferFormerError.self) { try FramePreprocessor(options: .init(shorterSide: 0)) }
        #expect(throws: ReferFormerError.self) { try FramePreprocessor(options: .init(std: [1, 0, 1])) }
    }
}
