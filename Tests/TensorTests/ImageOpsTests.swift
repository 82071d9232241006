// The 8-bit image ops: fixed-point resampling passes and table normalisation, against hand-computed values.
import Testing
@testable import Tensor

@Suite("Image ops")
struct ImageOpsTests {
    @Test("a horizontal pass of two half-weight taps averages neighbours with rounding; no pass copies")
    func resample() {
        // 3×1 RGB → 2×1: output 0 = (p0 + p1)/2, output 1 = (p1 + p2)/2, weights 0.5 with 2 fraction bits.
        let pass = ImageResampler.Pass(taps: 2, start: [0, 1], count: [2, 2], weights: [2, 2, 2, 2])
        let resampler = ImageResampler(sourceWidth: 3, sourceHeight: 1, targetWidth: 2, targetHeight: 1,
                                       horizontal: pass, vertical: nil, bits: 2)
        let source: [UInt8] = [10, 0, 255, 21, 1, 255, 40, 2, 0]
        var out = [UInt8](repeating: 0, count: 6)
        source.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { resampler.resample(src, into: $0) } }
        // (2 + 2·10 + 2·21) >> 2 = 16, (2 + 0 + 2) >> 2 = 1, (2 + 510 + 510) >> 2 = 255 (saturated), …
        #expect(out == [16, 1, 255, 31, 2, 128])
        let identity = ImageResampler(sourceWidth: 3, sourceHeight: 1, targetWidth: 3, targetHeight: 1, horizontal: nil, vertical: nil, bits: 2)
        var copy = [UInt8](repeating: 0, count: 9)
        source.withUnsafeBufferPointer { src in copy.withUnsafeMutableBufferPointer { identity.resample(src, into: $0) } }
        #expect(copy == source)
    }

    @Test("RGB frames become (T, 3, H, W) through the per-channel table")
    func rgbFrames() {
        let table = (0..<768).map { Float($0) }  // channel c, byte v → c·256 + v
        let frames: [[UInt8]] = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]  // two 1×2 frames
        let tensor = Tensor(rgbFrames: frames, height: 1, width: 2, channelTable: table)
        #expect(tensor.shape == [2, 3, 1, 2])
        #expect(tensor.scalars == [1, 4, 258, 261, 515, 518, 7, 10, 264, 267, 521, 524])
    }
}
