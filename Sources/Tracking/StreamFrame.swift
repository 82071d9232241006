/// One input frame: tightly packed RGB (3 bytes per pixel), row-major, at the camera's size.
public struct StreamFrame: Sendable {
    public var pixels: [UInt8]
    public var width: Int
    public var height: Int
    /// The caller's frame number; copied to every `TrackedMask` of this frame.
    public var index: Int
    /// Presentation time, copied to the masks.
    public var timestamp: Duration?

    public init(pixels: [UInt8], width: Int, height: Int, index: Int, timestamp: Duration? = nil) {
        self.pixels = pixels
        self.width = width
        self.height = height
        self.index = index
        self.timestamp = timestamp
    }
}
