/// A binary segmentation mask: `height` rows of `width` pixels, row-major, one byte per pixel (0 or 1).
///
/// Row-major like the frames and like NumPy's default (`mask[y, x]`); the COCO RLE codec converts to
/// and from COCO's column-major order.
public struct BinaryMask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major pixels, each 0 or 1 (the initialisers normalise any non-zero byte to 1).
    public private(set) var pixels: [UInt8]

    /// An empty (all-zero) mask.
    public init(width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "mask size \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: 0, count: width * height)
    }

    /// A mask from row-major bytes; any non-zero byte is foreground.
    /// - Throws: `.invalidMask` when `pixels.count != width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(WireProtocolError) {
        guard width >= 0, height >= 0, pixels.count == width * height else {
            throw WireProtocolError(
                .invalidMask, "a \(width)x\(height) mask needs \(max(0, width * height)) pixels, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels.map { $0 == 0 ? 0 : 1 }
    }

    /// The largest mask a decoder accepts from the wire: 2^28 pixels (16384 × 16384). Sizes come from
    /// headers, which a peer controls; the check keeps a bad header from asking for gigabytes or
    /// overflowing `width * height`.
    public static let maximumPixels = 1 << 28

    /// Checks a size read from the wire; returns the pixel count.
    static func checkedArea(width: Int, height: Int) throws(WireProtocolError) -> Int {
        guard width >= 0, height >= 0, width <= maximumPixels, height <= maximumPixels,
              width * height <= maximumPixels
        else { throw WireProtocolError(.invalidMask, "mask size \(width)x\(height) is out of range (at most \(maximumPixels) pixels)") }
        return width * height
    }

    /// Trusted initialiser for codecs that produce 0/1 bytes of the right count.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> Bool {
        get { pixels[y * width + x] != 0 }
        set { pixels[y * width + x] = newValue ? 1 : 0 }
    }

    /// The number of foreground pixels.
    public var area: Int { pixels.reduce(0) { $0 + Int($1) } }
}
