/// The one error type of the `WireProtocol` module.
///
/// It is also the error object of a control reply (`{"code", "message"}`): a `ControlHandler` throws it to
/// answer a command with a structured error, and the parser produces it for every malformed request.
public struct WireProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A machine-readable error code, sent on the wire as its raw string. Extensible: a handler may use
    /// codes of its own (`Code("stream_busy")`), but the ones below are documented in docs/protocol.md.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // Control requests: framing and shape.
        /// The request is not valid UTF-8.
        public static let invalidUTF8 = Code("invalid_utf8")
        /// The request is not JSON.
        public static let invalidJSON = Code("invalid_json")
        /// The request is JSON but not a request object (`{"id", "command", "params"}`).
        public static let invalidRequest = Code("invalid_request")
        /// The request is larger than the configured limit.
        public static let messageTooLarge = Code("message_too_large")
        /// `command` names no command.
        public static let unknownCommand = Code("unknown_command")
        /// `params` is missing a field, has an unknown field or a field of the wrong type or form.
        public static let invalidParams = Code("invalid_params")
        // Control requests: phrases.
        /// The phrase text is empty (or only white space).
        public static let phraseEmpty = Code("phrase_empty")
        /// The phrase text is longer than the configured limit.
        public static let phraseTooLong = Code("phrase_too_long")
        /// The phrase validator (the daemon's tokenizer) rejected the text; the message says why.
        public static let phraseRejected = Code("phrase_rejected")
        // Control requests: state (produced by the daemon's handler).
        /// No phrase has this id.
        public static let unknownPhrase = Code("unknown_phrase")
        /// A phrase with this id exists already (`phrase.add` with an explicit id).
        public static let duplicatePhrase = Code("duplicate_phrase")
        /// No stream has this id.
        public static let unknownStream = Code("unknown_stream")
        /// `stream.add` of a source the configuration does not declare.
        public static let streamNotDeclared = Code("stream_not_declared")
        /// The daemon could not carry out a valid command (it says why).
        public static let internalError = Code("internal_error")
        // Mask codecs.
        /// A COCO RLE string or count list is malformed or does not cover `height × width` pixels.
        public static let invalidRLE = Code("invalid_rle")
        /// A mask payload or header is malformed (wrong size, unknown encoding, bad JSON).
        public static let invalidMask = Code("invalid_mask")
    }

    public var code: Code
    /// What went wrong and, where it helps, what to do instead.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
