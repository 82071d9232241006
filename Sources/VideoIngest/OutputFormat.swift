import FrameGeometry
/// A frame size in pixels.
public struct FrameSize: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

/// What a source delivers: RGB at the model's input size, or RGB at the decoded size.
public enum OutputFormat: Sendable, Hashable {
    /// RGB scaled by GStreamer (`videoscale`) so that the shorter side is `shorterSide` pixels and the
    /// aspect ratio is kept; the longer side is computed exactly as torchvision's `Resize(shorterSide)`
    /// computes it (see `targetSize(for:)`). Fast, but the pixels are GStreamer's bilinear filter, not
    /// Pillow's antialiased one.
    case scaled(shorterSide: Int)
    /// RGB at the decoded size, unscaled, so that the Pillow-equivalent CPU resize of the model's
    /// pre-processing can be applied for exact parity with the official code.
    case original

    /// The model input the official ReferFormer inference uses: `T.Resize(360)`.
    public static let modelInput = OutputFormat.scaled(shorterSide: 360)

    /// The size frames of `original` size are delivered at.
    ///
    /// For `.scaled(s)` this is torchvision's `_compute_resized_output_size` for an `int` size: the
    /// shorter side becomes `s` and the longer side `int(s * long / short)` (Python true division,
    /// truncated); a square stays square. Sizes already at `s` on the shorter side are unchanged.
    public func targetSize(for original: FrameSize) -> FrameSize {
        switch self {
        case .original:
            return original
        case .scaled(let side):
            guard original.width > 0, original.height > 0, side > 0 else { return original }
            let size = torchvisionResizedSize(height: original.height, width: original.width, shorterSide: side)
            return FrameSize(width: size.width, height: size.height)
        }
    }
}
