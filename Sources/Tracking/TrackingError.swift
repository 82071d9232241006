/// The one error type of the `Tracking` module: a `code` for programs, a `message` that says what to
/// do, and the underlying cause when there is one.
public struct TrackingError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A phrase cannot be used (empty, too long, unknown to the tokenizer or the text encoder).
        public static let phrase = Code(rawValue: "phrase")
        /// `addPhrase` with an id already in use.
        public static let duplicatePhrase = Code(rawValue: "duplicate-phrase")
        /// A frame cannot be processed (size differs from the window's frames, too small, bad pixels).
        public static let frame = Code(rawValue: "frame")
        /// The window or thresholds are invalid.
        public static let configuration = Code(rawValue: "configuration")
        /// The model failed on valid input.
        public static let model = Code(rawValue: "model")
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
