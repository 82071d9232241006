import FrameGeometry
// ReferFormer inference_ytvos.py / inference_davis.py: the frame transform
// T.Compose([T.Resize(360), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]).
import Tensor

/// Turns RGB frames into the normalised float32 tensors the model takes, exactly as the official
/// inference scripts do with torchvision.
///
/// * Resize (`.pillowBilinear`): torchvision `T.Resize(shorterSide)` on a PIL image — shorter side to
///   `shorterSide`, longer side to `int(shorterSide · long / short)` — through Pillow's antialiased
///   bilinear filter (`PillowResize`, bit-exact). `.none` leaves frames as they come (for frames that a
///   pipeline already delivers at model size).
/// * `ToTensor` + `Normalize`: each byte `v` of channel `c` becomes `(v/255 − mean[c]) / std[c]`, computed
///   in float32 with torch's operations (see `normalizationTable`), read from a 3×256 table.
///
/// Frames are HWC RGB bytes, row-major, without padding. Thread-safety: a value type with immutable
/// state; one instance may be used from several threads.
public struct FramePreprocessor: Sendable {
    public enum Resize: Sendable, Equatable {
        /// torchvision `T.Resize(shorterSide)` with Pillow's `BILINEAR` (the official transform).
        case pillowBilinear
        /// No resize: frames are normalised at the size they come in.
        case none
    }

    public struct Options: Sendable, Equatable {
        /// Target of the shorter frame side (the official scripts use 360).
        public var shorterSide: Int
        public var resize: Resize
        /// Per-channel mean and standard deviation (R, G, B) of `T.Normalize`; ImageNet by default.
        public var mean: [Float]
        public var std: [Float]

        public init(shorterSide: Int = 360, resize: Resize = .pillowBilinear,
                    mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]) {
            self.shorterSide = shorterSide
            self.resize = resize
            self.mean = mean
            self.std = std
        }
    }

    public let options: Options
    /// `table[c * 256 + v]` = normalised value of byte `v` in channel `c` (float32, 3 × 256).
    public let normalizationTable: [Float]

    /// - Throws: `ReferFormerError.configuration` for a non-positive `shorterSide`, or `mean`/`std`
    ///   that are not 3 values (with `std` non-zero).
    public init(options: Options = Options()) throws {
        guard options.shorterSide > 0 else {
            throw ReferFormerError(.configuration, "preprocessing shorter side must be positive, got \(options.shorterSide)")
        }
        guard options.mean.count == 3, options.std.count == 3, !options.std.contains(0) else {
            throw ReferFormerError(.configuration, "normalisation needs 3 means and 3 non-zero standard deviations (R, G, B), got mean \(options.mean) std \(options.std)")
        }
        self.options = options
        normalizationTable = Self.normalizationTable(mean: options.mean, std: options.std)
    }

    // MARK: Sizes

    /// The size torchvision's `T.Resize(shorterSide)` gives a frame of `originalHeight × originalWidth`:
    /// the shorter side (the width when the frame is square or portrait) becomes `shorterSide`, the
    /// longer one `int(shorterSide · long / short)` (Python's true division, then truncation).
    /// - Precondition: all sizes are positive (`batch` checks frame sizes before calling this).
    public static func modelInputSize(originalHeight: Int, originalWidth: Int, shorterSide: Int = 360) -> (height: Int, width: Int) {
        torchvisionResizedSize(height: originalHeight, width: originalWidth, shorterSide: shorterSide)
    }

    /// The size frames of `height × width` have after this preprocessor's resize.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        switch options.resize {
        case .none: return (height, width)
        case .pillowBilinear:
            return Self.modelInputSize(originalHeight: height, originalWidth: width, shorterSide: options.shorterSide)
        }
    }

    /// The resizer for frames of `height × width`, or nil when frames keep their size. Build it once
    /// per stream to reuse its coefficients (`preprocess(_:height:width:resizer:)`).
    public func resizer(height: Int, width: Int) -> PillowResize? {
        let size = outputSize(height: height, width: width)
        // torchvision returns the image unchanged when it already has the target size (Pillow would copy).
        if size.height == height && size.width == width { return nil }
        return PillowResize(sourceWidth: width, sourceHeight: height, targetWidth: size.width, targetHeight: size.height)
    }

    // MARK: Normalisation

    /// `Normalize(ToTensor(v))[c]` for every byte, as torch computes it in float32: `ToTensor` divides
    /// the byte by 255 (`div(255)`), `Normalize` subtracts the float32 mean and divides by the float32
    /// std (`sub_(mean).div_(std)`), each step rounded to float32.
    public static func normalizationTable(mean: [Float], std: [Float]) -> [Float] {
        precondition(mean.count == 3 && std.count == 3, "mean and std need 3 channels")
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            for v in 0..<256 {
                let unit = Float(v) / Float(255)
                table[c * 256 + v] = (unit - mean[c]) / std[c]
            }
        }
        return table
    }

    // MARK: Frames

    /// Preprocesses one frame into a `(3, H, W)` tensor (H, W = `outputSize`).
    /// - Parameters:
    ///   - rgb: `height × width × 3` bytes, HWC RGB.
    ///   - resizer: a resizer from `resizer(height:width:)` to reuse; computed when omitted.
    /// - Throws: `ReferFormerError.input` when the byte count does not match the size.
    public func preprocess(_ rgb: [UInt8], height: Int, width: Int) throws -> Tensor {
        try batch([rgb], height: height, width: width).reshaped(Array(outputShape(height: height, width: width)))
    }

    /// Preprocesses `T` frames of one size into a `(T, 3, H, W)` tensor.
    /// - Throws: `ReferFormerError.input` for an empty clip, a non-positive size or a frame whose byte
    ///   count does not match `height × width × 3`.
    public func batch(_ frames: [[UInt8]], height: Int, width: Int) throws -> Tensor {
        guard height > 0, width > 0 else {
            throw ReferFormerError(.input, "frame size must be positive, got \(height)×\(width) (height × width)")
        }
        guard !frames.isEmpty else {
            throw ReferFormerError(.input, "no frames to preprocess")
        }
        let expected = height * width * 3
        for (i, frame) in frames.enumerated() where frame.count != expected {
            throw ReferFormerError(.input, "frame \(i) has \(frame.count) bytes; a \(width)×\(height) RGB frame (HWC, 8 bits) has \(expected)")
        }
        let resizer = self.resizer(height: height, width: width)
        let size = outputSize(height: height, width: width)
        let resized = try resizer.map { resizer in try frames.map { try resizer.resize($0) } } ?? frames
        return Tensor(rgbFrames: resized, height: size.height, width: size.width, channelTable: normalizationTable)
    }

    private func outputShape(height: Int, width: Int) -> [Int] {
        let size = outputSize(height: height, width: width)
        return [3, size.height, size.width]
    }
}
