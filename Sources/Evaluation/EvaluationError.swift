/// The one error type of the `Evaluation` module: a code, a message that says what to do, and the cause.
public struct EvaluationError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A file or folder cannot be read.
        public static let io = Code("io")
        /// A PNG file is malformed or uses a feature this reader does not decode.
        public static let png = Code("png")
        /// The predictions do not line up with the annotations (missing frames, other sizes, ...).
        public static let mismatch = Code("mismatch")
        /// The annotation folder does not have the DAVIS layout.
        public static let layout = Code("layout")
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        guard let underlying else { return message }
        return "\(message) (\(underlying))"
    }
}
