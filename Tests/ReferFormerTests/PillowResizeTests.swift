import Foundation
import TestSupport
import Testing
@testable import ReferFormer

/// Parity with torchvision `T.Resize(360)` → Pillow `Image.resize(size, BILINEAR)` (golden §4).
@Suite("Pillow bilinear resize")
struct PillowResizeTests {
    static let names = ["image0", "image1", "image2", "image3_upscale"]

    @Test("SHA-256 known answers")
    func sha256() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("regenerated source images match the fixture's SHA-256", arguments: names)
    func sources(name: String) throws {
        let image = try #require(try PreprocessingFixtures.manifest().images.first { $0.name == name })
        let source = SyntheticImage.make(width: image.source_width, height: image.source_height, seed: image.seed)
        let digest = SHA256.hex(source)
        #expect(digest == image.source_sha256, "\(name): source digest \(digest) != \(image.source_sha256)")
    }

    @Test("resize equals Pillow bit-exactly", arguments: names)
    func resize(name: String) throws {
        let image = try #require(try PreprocessingFixtures.manifest().images.first { $0.name == name })
        let size = FramePreprocessor.modelInputSize(originalHeight: image.source_height, originalWidth: image.source_width)
        #expect(size.height == image.resized_height && size.width == image.resized_width,
                "\(name): size \(size) != \(image.resized_height)×\(image.resized_width)")
        let source = SyntheticImage.make(width: image.source_width, height: image.source_height, seed: image.seed)
        let resizer = PillowResize(sourceWidth: image.source_width, sourceHeight: image.source_height,
                                   targetWidth: size.width, targetHeight: size.height)
        let resized = try resizer.resize(source)
        #expect(resized.count == size.height * size.width * 3)

        // The stored pixels (all of them, or rows 100..<164 for the up-scaled image).
        let tensors = try PreprocessingFixtures.tensors()
        let stored: [UInt8]
        let ours: ArraySlice<UInt8>
        if name == "image3_upscale" {
            let (shape, values) = try tensors.bytes("image3_upscale.resized_rows_100_164")
            #expect(shape == [64, size.width, 3])
            stored = values
            ours = resized[(100 * size.width * 3)..<(164 * size.width * 3)]
        } else {
            let (shape, values) = try tensors.bytes("\(name).resized")
            #expect(shape == [size.height, size.width, 3])
            stored = values
            ours = resized[...]
        }
        try #require(stored.count == ours.count)
        var maxDiff = 0, differing = 0
        for (a, b) in zip(ours, stored) {
            let d = abs(Int(a) - Int(b))
            if d > 0 { differing += 1; maxDiff = max(maxDiff, d) }
        }
        #expect(differing == 0, "\(name): \(differing) of \(stored.count) bytes differ, max |Δ| = \(maxDiff)")
        // The digest covers the whole resized image, including the rows the fixture does not store.
        let digest = SHA256.hex(resized)
        #expect(digest == image.resized_sha256, "\(name): resized digest \(digest) != \(image.resized_sha256)")
    }

    @Test("target size follows torchvision's T.Resize(int) rule")
    func targetSizes() {
        let cases: [(h: Int, w: Int, side: Int, out: (Int, Int))] = [
            (720, 1280, 360, (360, 640)), (480, 854, 360, (360, 640)), (640, 480, 360, (480, 360)),
            (160, 213, 360, (360, 479)), (1080, 1920, 360, (360, 640)), (500, 500, 360, (360, 360)),
            (360, 640, 360, (360, 640)), (33, 49, 17, (17, 25)), (100, 7, 360, (5142, 360)),
        ]
        for c in cases {
            let size = FramePreprocessor.modelInputSize(originalHeight: c.h, originalWidth: c.w, shorterSide: c.side)
            #expect(size.height == c.out.0 && size.width == c.out.1, "\(c.h)×\(c.w) → \(size), expected \(c.out)")
        }
    }

    /// The fast path (row window, skipped identity passes, vectorised vertical sums) against a plain
    /// two-pass evaluation over every row with the same fixed-point weights. An identity pass has one
    /// weight of exactly 2^22, so Pillow's skipping cannot change a value; this checks that property too.
    @Test("fast path equals plain two-pass evaluation",
          arguments: [(37, 23, 37, 11), (37, 23, 12, 23), (37, 23, 37, 23), (19, 13, 50, 31), (64, 48, 21, 47), (5, 300, 3, 7)])
    func plainReference(sizes: (Int, Int, Int, Int)) throws {
        let (inW, inH, outW, outH) = sizes
        let source = SyntheticImage.make(width: inW, height: inH, seed: 7)
        let fast = try PillowResize(sourceWidth: inW, sourceHeight: inH, targetWidth: outW, targetHeight: outH).resize(source)
        let hk = PillowResize.kernel(inputSize: inW, outputSize: outW)
        let vk = PillowResize.kernel(inputSize: inH, outputSize: outH)
        func clip(_ s: Int) -> UInt8 { UInt8(min(max(s >> 22, 0), 255)) }
        var mid = [UInt8](repeating: 0, count: inH * outW * 3)
        for y in 0..<inH { for x in 0..<outW { for c in 0..<3 {
            var s = 1 << 21
            for t in 0..<hk.count[x] { s += Int(source[(y * inW + hk.start[x] + t) * 3 + c]) * Int(hk.weights[x * hk.taps + t]) }
            mid[(y * outW + x) * 3 + c] = clip(s)
        } } }
        var plain = [UInt8](repeating: 0, count: outH * outW * 3)
        for y in 0..<outH { for x in 0..<outW { for c in 0..<3 {
            var s = 1 << 21
            for t in 0..<vk.count[y] { s += Int(mid[((vk.start[y] + t) * outW + x) * 3 + c]) * Int(vk.weights[y * vk.taps + t]) }
            plain[(y * outW + x) * 3 + c] = clip(s)
        } } }
        let differing = zip(fast, plain).filter { $0 != $1 }.count
        #expect(differing == 0, "\(inW)×\(inH) → \(outW)×\(outH): \(differing) bytes differ")
    }

    @Test("weights of each output sum to 1.0 in 22-bit fixed point (±rounding)")
    func weightSums() {
        for (n, m) in [(1920, 640), (854, 640), (160, 360), (7, 3), (1, 5)] {
            let k = PillowResize.kernel(inputSize: n, outputSize: m)
            for o in 0..<m {
                let sum = (0..<k.taps).reduce(0) { $0 + Int(k.weights[o * k.taps + $1]) }
                #expect(abs(sum - (1 << 22)) <= k.taps, "\(n)→\(m) output \(o): weight sum \(sum)")
            }
        }
    }

    @Test("wrong byte count is an input error")
    func wrongSize() {
        let resizer = PillowResize(sourceWidth: 4, sourceHeight: 3, targetWidth: 2, targetHeight: 2)
        #expect(throws: ReferFormerError.self) { try resizer.resize([UInt8](repeating: 0, count: 35)) }
    }
}
