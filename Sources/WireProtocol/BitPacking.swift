/// The `bits` mask encoding: the row-major pixels packed eight to a byte, most significant bit first,
/// with no padding between rows (only the last byte is padded with zeros) — exactly NumPy's
/// `np.packbits(mask.ravel())`, so `np.unpackbits(payload, count=h*w).reshape(h, w)` decodes it.
public enum BitPacking {
    public static func encode(_ mask: BinaryMask) -> [UInt8] {
        let count = mask.pixels.count
        var out = [UInt8](repeating: 0, count: (count + 7) / 8)
        mask.pixels.withUnsafeBufferPointer { pixels in
            let full = count / 8
            for byte in 0..<full {
                let base = byte * 8
                var value: UInt8 = 0
                for bit in 0..<8 { value = value << 1 | pixels[base + bit] }
                out[byte] = value
            }
            if full * 8 < count {
                var value: UInt8 = 0
                for i in (full * 8)..<(full * 8 + 8) { value = value << 1 | (i < count ? pixels[i] : 0) }
                out[full] = value
            }
        }
        return out
    }

    /// - Throws: `.invalidMask` when the payload is not `ceil(width * height / 8)` bytes.
    public static func decode(_ bytes: [UInt8], width: Int, height: Int) throws(WireProtocolError) -> BinaryMask {
        let count = try BinaryMask.checkedArea(width: width, height: height)
        guard bytes.count == (count + 7) / 8 else {
            throw WireProtocolError(.invalidMask, "a \(width)x\(height) bits mask has \((count + 7) / 8) bytes, got \(bytes.count)")
        }
        var pixels = [UInt8](repeating: 0, count: count)
        for i in 0..<count { pixels[i] = (bytes[i >> 3] >> (7 - UInt8(i & 7))) & 1 }
        return BinaryMask(uncheckedWidth: width, height: height, pixels: pixels)
    }
}
