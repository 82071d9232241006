/// A single-channel 8-bit image of labels, row-major: a DAVIS annotation (palette index = object id,
/// 0 = background, 255 = void) or a binary mask (0 = background, anything else = foreground).
public struct LabelImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var labels: [UInt8]

    public init(width: Int, height: Int, labels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && labels.count == width * height, "labels must hold width × height values")
        self.width = width
        self.height = height
        self.labels = labels
    }

    /// The pixels equal to `label` as a binary mask.
    public func mask(of label: UInt8) -> [Bool] { labels.map { $0 == label } }

    /// The non-zero pixels as a binary mask.
    public var foreground: [Bool] { labels.map { $0 != 0 } }

    /// The largest label, ignoring 255 (DAVIS void).
    public var maximumObjectLabel: Int { Int(labels.lazy.filter { $0 != 255 }.max() ?? 0) }
}
