/// The one error type of the `Tokenizer` module.
///
/// `code` says what kind of failure it is (match on it); `message` says what went wrong and what to do;
/// `file` and `line` locate malformed input files (`line` is 1-based).
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A vocabulary, merges or `tokenizer.json` file could not be read.
        public static let fileUnreadable = Code(rawValue: "fileUnreadable")
        /// `vocab.json` (or `model.vocab` of a `tokenizer.json`) is not a JSON object of token → id.
        public static let malformedVocabulary = Code(rawValue: "malformedVocabulary")
        /// `merges.txt` (or `model.merges`) has a line that is not two tokens of the vocabulary.
        public static let malformedMerges = Code(rawValue: "malformedMerges")
        /// A `tokenizer.json` is not valid JSON or lacks a required field.
        public static let malformedTokenizerJSON = Code(rawValue: "malformedTokenizerJSON")
        /// A `tokenizer.json` asks for a component or option this implementation does not provide.
        public static let unsupportedConfiguration = Code(rawValue: "unsupportedConfiguration")
        /// The encoded input has more tokens than allowed and truncation was not requested.
        public static let inputTooLong = Code(rawValue: "inputTooLong")
        /// An argument is out of range (e.g. a maximum length too small to hold `<s>` and `</s>`).
        public static let invalidArgument = Code(rawValue: "invalidArgument")
    }

    public var code: Code
    public var message: String
    /// The file the error is about, when there is one.
    public var file: String?
    /// The 1-based line in `file`, when known.
    public var line: Int?
    /// The underlying error (e.g. the I/O error of an unreadable file).
    public var underlying: (any Error & Sendable)?

    public init(
        _ code: Code, _ message: String, file: String? = nil, line: Int? = nil,
        underlying: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.underlying = underlying
    }

    public var description: String {
        var location = ""
        if let file {
            location = line.map { "\(file):\($0): " } ?? "\(file): "
        }
        var text = "\(location)\(message) [\(code)]"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}
