/// One phrase's result on one frame.
public struct TrackedMask: Sendable {
    public var phraseID: String
    public var text: String
    /// Stable while the same object is followed; a new id when the phrase's text is replaced or when
    /// the track switches to an object that does not continue it (see README "Online tracking").
    public var trackID: Int
    public var frameIndex: Int
    public var timestamp: Duration?
    /// sigmoid(class logit) of the chosen query on this frame (max over classes).
    public var score: Float
    /// False once the score stayed under the presence threshold for `absentAfterFrames` frames.
    /// The mask is the model's mask either way (the official output); a consumer may drop absent ones.
    public var present: Bool
    /// The chosen query's box on this frame, in pixels of the original frame (x0, y0, x1, y1).
    public var box: (x0: Float, y0: Float, x1: Float, y1: Float)?
    public var width: Int
    public var height: Int
    /// height × width bytes, 0 or 1, row-major (`sigmoid(logit) > 0.5`, as inference_ytvos.py).
    public var mask: [UInt8]

    public init(phraseID: String, text: String, trackID: Int, frameIndex: Int, timestamp: Duration?, score: Float,
                present: Bool, box: (x0: Float, y0: Float, x1: Float, y1: Float)?, width: Int, height: Int, mask: [UInt8]) {
        self.phraseID = phraseID
        self.text = text
        self.trackID = trackID
        self.frameIndex = frameIndex
        self.timestamp = timestamp
        self.score = score
        self.present = present
        self.box = box
        self.width = width
        self.height = height
        self.mask = mask
    }
}
