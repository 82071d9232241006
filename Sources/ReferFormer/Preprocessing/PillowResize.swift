// Pillow src/libImaging/Resample.c: ImagingResample with the BILINEAR filter on an 8-bit RGB image
// (precompute_coeffs, normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc / Vertical_8bpc,
// ImagingResampleInner). Re-implemented from a reading of that file; no code is copied.
import Tensor

/// Pillow's `Image.resize((width, height), Image.BILINEAR)` for RGB images, bit for bit.
///
/// This is the resize behind torchvision's `T.Resize(360)` on a PIL image, which the official ReferFormer
/// inference scripts apply to every frame. Pillow's "bilinear" is not a 2×2 interpolation: it is a
/// separable triangle filter whose support grows with the down-scale factor (antialiasing), evaluated
/// with fixed-point integer weights. The behaviours matched:
///
/// * Coefficients: for output index `o` the filter centre is `(o + 0.5)·scale` with
///   `scale = in/out` (in double), support `max(scale, 1)`, the source window
///   `[Int(centre − support + 0.5), Int(centre + support + 0.5))` clipped to the image (C truncation),
///   triangle weights at `(i − centre + 0.5)/max(scale, 1)`, normalised by their double sum, then
///   converted to `Int32` with 22 fraction bits (`PRECISION_BITS = 32 − 8 − 2`), rounding half away
///   from zero.
/// * Accumulation starts at `1 << 21` (rounding), sums `byte · weight` in 32-bit integers, and the
///   result is `clamp(sum >> 22, 0, 255)` (Pillow's `clip8`). Integer sums are exact, so the order of
///   summation (and therefore vectorisation) cannot change a result.
/// * Two passes: horizontal first into an 8-bit intermediate holding only the source rows the vertical
///   pass will read, then vertical. A pass whose output size equals its input size is skipped (with
///   the default box `(0, 0, w, h)` Pillow's `need_horizontal`/`need_vertical` reduce to that); when
///   both sizes are equal the result is a copy.
///
/// This type computes Pillow's coefficients (the behaviour matched); `Tensor.ImageResampler` runs the
/// passes with them. The coefficients depend only on the sizes, so one value serves every frame of a
/// stream.
public struct PillowResize: Sendable {
    public let sourceWidth: Int
    public let sourceHeight: Int
    public let targetWidth: Int
    public let targetHeight: Int

    /// The passes with Pillow's weights (horizontal nil when the widths are equal, vertical nil when
    /// the heights are: Pillow skips those passes).
    let resampler: ImageResampler

    static let precisionBits = 22

    /// Precomputes the coefficients of both passes.
    /// - Precondition: all sizes are positive (a programmer error otherwise; callers validate input).
    public init(sourceWidth: Int, sourceHeight: Int, targetWidth: Int, targetHeight: Int) {
        precondition(sourceWidth > 0 && sourceHeight > 0 && targetWidth > 0 && targetHeight > 0,
                     "PillowResize needs positive sizes, got \(sourceWidth)×\(sourceHeight) → \(targetWidth)×\(targetHeight)")
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.targetWidth = targetWidth
        self.targetHeight = targetHeight
        // Pillow computes the vertical bounds even when it skips the vertical pass, and uses them to
        // limit the rows the horizontal pass produces; with equal heights that range is every row
        // (which is what ImageResampler does without a vertical pass).
        resampler = ImageResampler(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, targetWidth: targetWidth, targetHeight: targetHeight,
            horizontal: sourceWidth == targetWidth ? nil : Self.kernel(inputSize: sourceWidth, outputSize: targetWidth),
            vertical: sourceHeight == targetHeight ? nil : Self.kernel(inputSize: sourceHeight, outputSize: targetHeight),
            bits: Self.precisionBits)
    }

    /// Byte count of a source image (`sourceHeight × sourceWidth × 3`).
    public var sourceByteCount: Int { sourceHeight * sourceWidth * 3 }
    /// Byte count of a resized image (`targetHeight × targetWidth × 3`).
    public var targetByteCount: Int { targetHeight * targetWidth * 3 }

    // MARK: Coefficients (precompute_coeffs + normalize_coeffs_8bpc, BILINEAR filter, default box)

    static func kernel(inputSize: Int, outputSize: Int) -> ImageResampler.Pass {
        // Pillow takes the box as C floats; (Float(in) − 0) is exact for any image size, then widened.
        let scale = Double(Float(inputSize)) / Double(outputSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale  // the triangle's support is 1
        let taps = Int(support.rounded(.up)) * 2 + 1
        let inverseScale = 1.0 / filterScale
        var start = [Int](repeating: 0, count: outputSize)
        var count = [Int](repeating: 0, count: outputSize)
        var weights = [Int32](repeating: 0, count: outputSize * taps)
        var real = [Double](repeating: 0, count: taps)
        let one = Double(1 << precisionBits)
        for o in 0..<outputSize {
            let center = 0.0 + (Double(o) + 0.5) * scale
            // `Int(_:)` truncates toward zero like C's (int) cast; the +0.5 is Pillow's "round".
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inputSize)
            let n = hi - lo
            var total = 0.0
            for t in 0..<n {
                let w = triangle((Double(t + lo) - center + 0.5) * inverseScale)
                real[t] = w
                total += w
            }
            for t in 0..<n {
                let w = total != 0 ? real[t] / total : real[t]
                // (int)(±0.5 + w·2^22): truncation after adding a half, i.e. round half away from zero.
                weights[o * taps + t] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            start[o] = lo
            count[o] = n
        }
        return ImageResampler.Pass(taps: taps, start: start, count: count, weights: weights)
    }

    /// Pillow's `bilinear_filter`: the triangle `max(1 − |x|, 0)`.
    @inline(__always)
    static func triangle(_ x: Double) -> Double {
        let a = x < 0 ? -x : x
        return a < 1 ? 1 - a : 0
    }

    // MARK: Resizing

    /// Resizes one image.
    /// - Parameter source: `sourceHeight × sourceWidth × 3` bytes, HWC RGB, row-major.
    /// - Returns: `targetHeight × targetWidth × 3` bytes, HWC RGB.
    /// - Throws: `ReferFormerError.input` when `source` has the wrong number of bytes.
    public func resize(_ source: [UInt8]) throws -> [UInt8] {
        try source.withUnsafeBufferPointer { try resize($0) }
    }

    /// Resizes one image from borrowed bytes (for example a decoder's frame buffer).
    /// - Throws: `ReferFormerError.input` when `source` has the wrong number of bytes.
    public func resize(_ source: UnsafeBufferPointer<UInt8>) throws -> [UInt8] {
        try checkSource(source.count)
        return [UInt8](unsafeUninitializedCapacity: targetByteCount) { out, initialized in
            resampler.resample(source, into: out)
            initialized = targetByteCount
        }
    }

    /// Resizes into a caller-provided buffer of exactly `targetByteCount` bytes.
    /// - Throws: `ReferFormerError.input` when either buffer has the wrong size.
    public func resize(_ source: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) throws {
        try checkSource(source.count)
        guard output.count == targetByteCount else {
            throw ReferFormerError(.input, "resize output buffer holds \(output.count) bytes; \(targetWidth)×\(targetHeight) RGB needs \(targetByteCount)")
        }
        resampler.resample(source, into: output)
    }

    private func checkSource(_ count: Int) throws {
        guard count == sourceByteCount else {
            throw ReferFormerError(.input, "frame has \(count) bytes; a \(sourceWidth)×\(sourceHeight) RGB frame (HWC, 8 bits) has \(sourceByteCount). Pass frames of the size the resizer was made for")
        }
    }
}
