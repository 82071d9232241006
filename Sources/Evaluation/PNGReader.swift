import CZlib
import Foundation

/// A PNG reader for annotation and prediction masks: greyscale (1-16 bit), palette (1-8 bit), RGB,
/// greyscale+alpha and RGBA, not interlaced — every PNG that DAVIS, PIL (`mode="P"`/`"L"`) and
/// `referstream segment` write. It returns what `np.array(Image.open(path))` gives for a single-channel
/// image: the palette index for palette images, the grey value (high byte of 16-bit samples) for
/// greyscale. Colour images become binary labels (255 where any colour channel is non-zero), because
/// masks are sometimes saved as RGB.
public enum PNGReader {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    /// Reads a PNG file.
    /// - Throws: `.io` when the file cannot be read, `.png` when it is not a PNG this reader decodes.
    public static func read(contentsOf url: URL) throws(EvaluationError) -> LabelImage {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw EvaluationError(.io, "cannot read \(url.path)", underlying: error)
        }
        do {
            return try decode([UInt8](data))
        } catch {
            throw EvaluationError(.png, "\(url.path): \(error.message)")
        }
    }

    /// Decodes PNG bytes.
    public static func decode(_ bytes: [UInt8]) throws(EvaluationError) -> LabelImage {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw EvaluationError(.png, "not a PNG file (bad signature)")
        }
        var at = 8
        var width = 0, height = 0, depth = 0, colorType = -1
        var idat: [UInt8] = []
        func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var sawEnd = false
        while at + 8 <= bytes.count {
            let length = be32(at)
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            let start = at + 8
            guard length >= 0, start + length + 4 <= bytes.count else {
                throw EvaluationError(.png, "truncated \(type) chunk")
            }
            switch type {
            case "IHDR":
                guard length == 13 else { throw EvaluationError(.png, "IHDR has \(length) bytes, not 13") }
                width = be32(start); height = be32(start + 4)
                depth = Int(bytes[start + 8]); colorType = Int(bytes[start + 9])
                guard bytes[start + 10] == 0, bytes[start + 11] == 0 else {
                    throw EvaluationError(.png, "unknown compression or filter method")
                }
                guard bytes[start + 12] == 0 else {
                    throw EvaluationError(.png, "interlaced (Adam7) PNGs are not supported: save the mask without interlacing")
                }
            case "IDAT":
                idat.append(contentsOf: bytes[start..<(start + length)])
            case "IEND":
                sawEnd = true
            default:
                break
            }
            at = start + length + 4
            if sawEnd { break }
        }
        guard width > 0, height > 0 else { throw EvaluationError(.png, "missing or empty IHDR") }
        let channels: Int
        switch colorType {
        case 0, 3: channels = 1
        case 2: channels = 3
        case 4: channels = 2
        case 6: channels = 4
        default: throw EvaluationError(.png, "unknown colour type \(colorType)")
        }
        let validDepth = switch colorType {
        case 0: [1, 2, 4, 8, 16].contains(depth)
        case 3: [1, 2, 4, 8].contains(depth)
        default: [8, 16].contains(depth)
        }
        guard validDepth else { throw EvaluationError(.png, "bit depth \(depth) is invalid for colour type \(colorType)") }
        let bitsPerPixel = channels * depth
        let rowBytes = (width * bitsPerPixel + 7) / 8
        let filterStride = max(1, bitsPerPixel / 8)
        var raw = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
        var rawCount = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            idat.withUnsafeBufferPointer { input in
                uncompress(out.baseAddress, &rawCount, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK, Int(rawCount) == raw.count else {
            throw EvaluationError(.png, "the image data does not inflate to \(height) rows of \(rowBytes) bytes (zlib status \(status))")
        }
        // Undo the per-row filters (PNG spec §9).
        var pixels = [UInt8](repeating: 0, count: rowBytes * height)
        for y in 0..<height {
            let filter = raw[y * (rowBytes + 1)]
            let src = y * (rowBytes + 1) + 1, dst = y * rowBytes, up = dst - rowBytes
            for x in 0..<rowBytes {
                let a = x >= filterStride ? Int(pixels[dst + x - filterStride]) : 0
                let b = y > 0 ? Int(pixels[up + x]) : 0
                let c = (x >= filterStride && y > 0) ? Int(pixels[up + x - filterStride]) : 0
                let value = Int(raw[src + x])
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw EvaluationError(.png, "row \(y) has unknown filter type \(filter)")
                }
                pixels[dst + x] = UInt8(truncatingIfNeeded: value + predicted)
            }
        }
        var labels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            let row = y * rowBytes
            for x in 0..<width {
                let label: UInt8
                if depth < 8 {
                    let bit = x * depth
                    let byte = pixels[row + bit / 8]
                    let shift = 8 - depth - bit % 8
                    label = (byte >> UInt8(shift)) & UInt8((1 << depth) - 1)
                } else {
                    let bytesPerSample = depth / 8
                    let pixel = row + x * channels * bytesPerSample
                    switch colorType {
                    case 0, 3, 4:
                        label = pixels[pixel]
                    default:
                        var any = false
                        for channel in 0..<3 where pixels[pixel + channel * bytesPerSample] != 0
                            || (bytesPerSample == 2 && pixels[pixel + channel * bytesPerSample + 1] != 0) { any = true }
                        label = any ? 255 : 0
                    }
                }
                labels[y * width + x] = label
            }
        }
        // Greyscale below 8 bits: PIL keeps the raw sample values (0/1 for 1-bit masks), and so do we.
        return LabelImage(width: width, height: height, labels: labels)
    }
}
