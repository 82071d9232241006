/// The one error type of the `ReferFormer` module.
///
/// `code` is for programs; `message` says what happened and what to do about it; `underlying` keeps the
/// error that caused it (a `CheckpointError` when weights cannot be read), for callers that log or
/// inspect it. Equality compares code and message only.
public struct ReferFormerError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Weights do not fit the model: missing, unexpected or mis-shaped keys (all listed).
        public static let weights = Code(rawValue: "weights")
        /// The configuration is invalid, or contradicts the weights.
        public static let configuration = Code(rawValue: "configuration")
        /// The input (frames, text, sizes) cannot be processed.
        public static let input = Code(rawValue: "input")
        /// A file could not be read or written.
        public static let io = Code(rawValue: "io")
    }

    public var code: Code
    public var message: String
    /// The error this one wraps, if any.
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public static func == (a: ReferFormerError, b: ReferFormerError) -> Bool { a.code == b.code && a.message == b.message }

    public var description: String { message }
}
