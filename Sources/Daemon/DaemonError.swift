/// The one error type of the `Daemon` module.
///
/// `code` is what a program switches on; `message` says what is wrong and what to do. Configuration
/// errors also carry the key (`streams[1].params.location`) and the line of the file it is on, so the
/// message reads `referstreamd.yaml:12: streams[1].params.location: …`.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The configuration file cannot be read or is not YAML.
        public static let unreadable = Code(rawValue: "unreadable")
        /// A key the daemon does not know (typo, or a key of another section).
        public static let unknownKey = Code(rawValue: "unknown-key")
        /// A required key is missing.
        public static let missingKey = Code(rawValue: "missing-key")
        /// A value of the wrong type or out of range.
        public static let invalidValue = Code(rawValue: "invalid-value")
        /// The source names no pipeline template.
        public static let unknownTemplate = Code(rawValue: "unknown-template")
        /// The weights, model configuration or tokenizer cannot be loaded.
        public static let model = Code(rawValue: "model")
        /// An endpoint or port cannot be bound (in use, no permission, bad address).
        public static let bind = Code(rawValue: "bind")
        /// Something failed while running.
        public static let runtime = Code(rawValue: "runtime")
    }

    public var code: Code
    public var message: String
    /// The configuration key the error is about, as a path (`model.weights`, `streams[0].window`).
    public var key: String?
    /// The line of the configuration file (1-based), when known.
    public var line: Int?
    /// The file the line is in.
    public var file: String?
    /// The error that caused this one, in words.
    public var underlying: String?

    public init(_ code: Code, _ message: String, key: String? = nil, line: Int? = nil, file: String? = nil, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.key = key
        self.line = line
        self.file = file
        self.underlying = underlying
    }

    public var description: String {
        var text = ""
        if let file { text += file + (line.map { ":\($0)" } ?? "") + ": " } else if let line { text += "line \(line): " }
        if let key { text += key + ": " }
        text += message
        if let underlying, !underlying.isEmpty, !message.contains(underlying) { text += " (\(underlying))" }
        return text
    }
}
