import CZlib
import Testing
import TestSupport
@testable import WireProtocol

/// The obvious column-major run-length count, written independently of `COCORLE.counts(of:)`.
func naiveCounts(_ mask: BinaryMask) -> [UInt32] {
    var counts: [UInt32] = []
    var current: UInt8 = 0, run: UInt32 = 0
    for x in 0..<mask.width {
        for y in 0..<mask.height {
            let p = mask.pixels[y * mask.width + x]
            if p != current { counts.append(run); run = 0; current = p }
            run += 1
        }
    }
    counts.append(run)
    return counts
}

func mask(_ rows: [[UInt8]]) throws -> BinaryMask {
    try BinaryMask(width: rows[0].count, height: rows.count, pixels: rows.flatMap { $0 })
}

@Suite("COCO RLE")
struct RLETests {
    /// Strings recorded once with pycocotools 2.0.11 (`mask.encode(np.asfortranarray(a.astype(np.uint8)))
    /// ["counts"]`) on 2026-11-25; see Tests/Fixtures/transport/README.md.
    static let recorded: [(String, BinaryMask, String)] = {
        var cases: [(String, BinaryMask, String)] = []
        func add(_ name: String, _ m: BinaryMask?, _ s: String) { if let m { cases.append((name, m, s)) } }
        add("3x4 example", try? mask([[0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 1, 1]]), "251L10")
        add("full 2x3", try? BinaryMask(width: 3, height: 2, pixels: [1, 1, 1, 1, 1, 1]), "06")
        add("empty 5x7", BinaryMask(width: 7, height: 5), "S1")
        var single = BinaryMask(width: 4, height: 4)
        single[0, 0] = true
        add("single pixel (0,0) of 4x4", single, "01?")
        var rect = BinaryMask(width: 640, height: 480)
        for y in 100..<300 { for x in 200..<500 { rect[x, y] = true } }
        add("rect rows 100..<300 cols 200..<500 of 640x480", rect,
            "Tkm2X6h8" + String(repeating: "0", count: 597) + "l`Q2")
        var diagonal = BinaryMask(width: 9, height: 7)
        for i in 0..<7 { diagonal[i, i] = true }
        add("diagonal 7x9", diagonal, "017000000000007")
        add("1x1 zero", BinaryMask(width: 1, height: 1), "1")
        add("1x1 one", try? BinaryMask(width: 1, height: 1, pixels: [1]), "01")
        add("random 5x6 (numpy default_rng(7) > 0.5)", try? mask([
            [1, 1, 1, 0, 0, 1], [0, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1], [1, 1, 0, 0, 1, 0], [0, 1, 0, 1, 1, 1],
        ]), "0120O1033LM013OM00")
        return cases
    }()

    @Test("encodes exactly the strings pycocotools produced", arguments: 0..<9)
    func recordedStrings(_ index: Int) throws {
        let (name, m, expected) = Self.recorded[index]
        let encoded = String(decoding: COCORLE.encode(m), as: UTF8.self)
        #expect(encoded == expected, "\(name): got \(encoded), pycocotools \(expected)")
        let decoded = try COCORLE.decode(Array(expected.utf8), width: m.width, height: m.height)
        #expect(decoded == m, "\(name): decoding the pycocotools string differs")
    }

    @Test("fast counts equal the naive column-major counts on random masks", arguments: [
        (1, 1), (1, 17), (17, 1), (8, 8), (9, 7), (33, 65), (640, 360), (123, 457),
    ])
    func randomCounts(width: Int, height: Int) throws {
        var rng = SplitMix64(seed: UInt64(width * 1000 + height))
        for density in [0.0, 0.02, 0.5, 0.98, 1.0] {
            let pixels = (0..<(width * height)).map { _ in Double.random(in: 0..<1, using: &rng) < density ? UInt8(1) : 0 }
            let m = try BinaryMask(width: width, height: height, pixels: pixels)
            let fast = COCORLE.counts(of: m), naive = naiveCounts(m)
            #expect(fast == naive, "\(width)x\(height) density \(density): \(fast.prefix(8)) vs \(naive.prefix(8))")
            let roundTrip = try COCORLE.decode(COCORLE.encode(m), width: width, height: height)
            #expect(roundTrip == m, "\(width)x\(height) density \(density): round trip differs")
        }
    }

    @Test("string form round-trips large and alternating counts")
    func stringRoundTrip() throws {
        let counts: [UInt32] = [0, 1, 2_073_600, 3, 70_000, 5, 1, 1_000_000, 0, 31, 32, 33, 15, 16, 17]
        #expect(try COCORLE.counts(fromString: COCORLE.string(fromCounts: counts)) == counts)
    }

    @Test("malformed strings are errors, not crashes", arguments: ["p", "0 ", "\u{7F}", "0`", "0000000000000000", "\u{00}"])
    func malformed(_ text: String) {
        #expect(throws: WireProtocolError.self) { try COCORLE.decode(Array(text.utf8), width: 4, height: 4) }
    }

    @Test("counts that do not cover the mask are rejected")
    func wrongArea() {
        #expect(throws: WireProtocolError.self) { try COCORLE.decode(Array("S1".utf8), width: 6, height: 5) }
    }

    @Test("sizes from a hostile header are rejected before allocating", arguments: [
        (-1, 5), (5, -1), (Int.max, 2), (1 << 20, 1 << 20), (Int.min, Int.min),
    ])
    func hostileSize(width: Int, height: Int) {
        #expect(throws: WireProtocolError.self) { try COCORLE.decode(Array("1".utf8), width: width, height: height) }
        #expect(throws: WireProtocolError.self) { try BitPacking.decode([0], width: width, height: height) }
    }
}

@Suite("bits and PNG")
struct OtherEncodingTests {
    @Test("bits matches np.packbits order and round-trips odd sizes", arguments: [(1, 1), (3, 5), (13, 7), (64, 2)])
    func bits(width: Int, height: Int) throws {
        var rng = SplitMix64(seed: 99)
        let pixels = (0..<(width * height)).map { _ in UInt8.random(in: 0...1, using: &rng) }
        let m = try BinaryMask(width: width, height: height, pixels: pixels)
        let packed = BitPacking.encode(m)
        #expect(packed.count == (width * height + 7) / 8)
        #expect(try BitPacking.decode(packed, width: width, height: height) == m)
    }

    @Test("bits of a known mask: MSB first, no row padding")
    func bitsKnown() throws {
        let m = try mask([[1, 0, 1], [1, 1, 0], [0, 0, 1]])
        // ravel: 1 0 1 1 1 0 0 0 | 1 -> 0b10111000, 0b10000000
        #expect(BitPacking.encode(m) == [0b1011_1000, 0b1000_0000])
    }

    @Test("PNG has the signature, an IHDR for 8-bit greyscale and ends with IEND")
    func pngStructure() throws {
        var m = BinaryMask(width: 5, height: 3)
        m[1, 1] = true
        let png = PNG.encode(m)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(Array(png[12..<16]) == Array("IHDR".utf8))
        #expect(Array(png[16..<24]) == [0, 0, 0, 5, 0, 0, 0, 3])
        #expect(png[24] == 8 && png[25] == 0, "bit depth \(png[24]), colour type \(png[25])")
        #expect(Array(png.suffix(12)) == [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
    }

    @Test("the tinted overlay PNG is RGBA: the mask opaque in the colour, everything else fully transparent")
    func tintedOverlay() throws {
        var m = BinaryMask(width: 4, height: 2)
        m[1, 0] = true   // (x, y)
        m[3, 1] = true
        let png = PNG.encodeTinted(m, color: (230, 25, 75))
        #expect(Array(png[16..<24]) == [0, 0, 0, 4, 0, 0, 0, 2])
        #expect(png[24] == 8 && png[25] == 6, "bit depth \(png[24]), colour type \(png[25])")
        // The one IDAT chunk, inflated: per row a filter byte (0) and 4 bytes per pixel.
        let idat = try #require((0..<png.count - 4).first { Array(png[$0..<$0 + 4]) == Array("IDAT".utf8) })
        let length = png[(idat - 4)..<idat].reduce(0) { $0 << 8 | Int($1) }
        let compressed = Array(png[(idat + 4)..<(idat + 4 + length)])
        var raw = [UInt8](repeating: 0, count: 2 * (1 + 4 * 4))
        var rawLength = uLongf(raw.count)
        #expect(uncompress(&raw, &rawLength, compressed, uLong(compressed.count)) == Z_OK && rawLength == uLongf(raw.count))
        func pixel(_ y: Int, _ x: Int) -> [UInt8] { Array(raw[(y * 17 + 1 + 4 * x)..<(y * 17 + 5 + 4 * x)]) }
        #expect(raw[0] == 0 && raw[17] == 0)
        for y in 0..<2 {
            for x in 0..<4 {
                #expect(pixel(y, x) == (m[x, y] ? [230, 25, 75, 255] : [0, 0, 0, 0]), "pixel x \(x), y \(y)")
            }
        }
    }
}
