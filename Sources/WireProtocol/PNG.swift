import CZlib

/// A minimal PNG writer: 8-bit greyscale, RGB or RGBA, not interlaced, filter 0 ("None") on every row,
/// one IDAT chunk compressed with zlib (`compress2`). Masks are mostly long runs, which deflate shrinks
/// well without row filters.
public enum PNG {
    /// A PNG of `mask`: 8-bit greyscale, background 0 and foreground 255 (the `png` mask encoding).
    public static func encode(_ mask: BinaryMask) -> [UInt8] {
        var scanlines = [UInt8](repeating: 0, count: (mask.width + 1) * mask.height)
        mask.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<mask.height {
                let source = y * mask.width, target = y * (mask.width + 1) + 1
                for x in 0..<mask.width { scanlines[target + x] = pixels[source + x] &* 255 }
            }
        }
        return encode(width: mask.width, height: mask.height, colorType: 0, scanlines: scanlines)
    }

    /// A PNG of `mask` in `color`, 8-bit RGBA: the mask's pixels opaque in the colour, the rest fully
    /// transparent, so the picture lies over the frame as it is (`referstream subscribe --overlay`; any
    /// image viewer or GStreamer's compositor blends it).
    public static func encodeTinted(_ mask: BinaryMask, color: (UInt8, UInt8, UInt8)) -> [UInt8] {
        let stride = mask.width * 4 + 1
        var scanlines = [UInt8](repeating: 0, count: stride * mask.height)
        for y in 0..<mask.height {
            for x in 0..<mask.width where mask.pixels[y * mask.width + x] != 0 {
                let at = y * stride + 1 + 4 * x
                scanlines[at] = color.0
                scanlines[at + 1] = color.1
                scanlines[at + 2] = color.2
                scanlines[at + 3] = 255
            }
        }
        return encode(width: mask.width, height: mask.height, colorType: 6, scanlines: scanlines)
    }

    /// A PNG of an RGB image (8-bit colour, `pixels` row-major RGB, `width · height · 3` bytes), e.g. a
    /// frame with masks drawn over it (`referstream segment --overlay`).
    public static func encodeRGB(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGB image of \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        let row = width * 3
        var scanlines = [UInt8](repeating: 0, count: (row + 1) * height)
        for y in 0..<height {
            scanlines.replaceSubrange((y * (row + 1) + 1)..<((y + 1) * (row + 1)), with: pixels[(y * row)..<((y + 1) * row)])
        }
        return encode(width: width, height: height, colorType: 2, scanlines: scanlines)
    }

    /// - Parameter scanlines: rows, each a filter byte (0) followed by the row's samples.
    static func encode(width: Int, height: Int, colorType: UInt8, scanlines: [UInt8]) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        appendBigEndian(UInt32(width), to: &header)
        appendBigEndian(UInt32(height), to: &header)
        header += [8, colorType, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", deflate(scanlines), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// zlib-wrapped deflate of `data` (`compress2`, level 6 — zlib's default trade-off).
    static func deflate(_ data: [UInt8]) -> [UInt8] {
        var capacity = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let status = out.withUnsafeMutableBufferPointer { target in
            data.withUnsafeBufferPointer { source in
                compress2(target.baseAddress, &capacity, source.baseAddress, uLong(source.count), 6)
            }
        }
        // compress2 can only fail for lack of memory or a too small buffer; compressBound rules out the
        // latter, and Swift traps on allocation failure anyway.
        precondition(status == Z_OK, "compress2 failed with \(status)")
        out.removeSubrange(Int(capacity)...)
        return out
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        appendBigEndian(UInt32(data.count), to: &png)
        let typeAndData = Array(type.utf8) + data
        png += typeAndData
        let crc = typeAndData.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        appendBigEndian(UInt32(truncatingIfNeeded: crc), to: &png)
    }

    static func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                  UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
