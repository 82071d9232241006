/// The one error type of `VideoIngest`.
///
/// `code` says what went wrong in a way a program can switch on; `message` says it in words a user can
/// act on; `underlying` carries GStreamer's own text (its `GError` message and debug string) when there
/// is one.
public struct IngestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A pipeline description did not parse (`gst_parse_launch` failed).
        public static let pipelineParse = Code(rawValue: "pipeline-parse")
        /// The pipeline has no element of the expected name or type.
        public static let missingElement = Code(rawValue: "missing-element")
        /// A state change was refused (`gst_element_set_state` returned FAILURE).
        public static let stateChange = Code(rawValue: "state-change")
        /// GStreamer posted an error on the bus.
        public static let stream = Code(rawValue: "stream")
        /// A sample had caps or memory that cannot be read as the requested frames.
        public static let badSample = Code(rawValue: "bad-sample")
        /// A pipeline template and its parameters do not match (missing or unknown placeholders).
        public static let template = Code(rawValue: "template")
        /// A configuration value is not acceptable (negative size, bad characters, empty path, ...).
        public static let configuration = Code(rawValue: "configuration")
        /// The input does not exist: no such file, device or RTSP path (`GST_RESOURCE_ERROR_NOT_FOUND`).
        public static let notFound = Code(rawValue: "not-found")
        /// The input exists but cannot be opened or read: permissions, refused or dropped connections,
        /// busy devices (the other `GST_RESOURCE_ERROR`s).
        public static let resource = Code(rawValue: "resource")
        /// The data cannot be demuxed or decoded: corrupt, truncated or unsupported media
        /// (`GST_STREAM_ERROR`s such as TYPE_NOT_FOUND, DEMUX, DECODE, CODEC_NOT_FOUND).
        public static let decode = Code(rawValue: "decode")
        /// No frame arrived within the stall or connect timeout and no reconnection is allowed.
        public static let timeout = Code(rawValue: "timeout")
    }

    public var code: Code
    public var message: String
    public var underlying: String?

    public init(_ code: Code, _ message: String, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying, !underlying.isEmpty { return "\(message) (\(underlying))" }
        return message
    }
}
