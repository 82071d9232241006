/// The one error type of the `Checkpoint` module: a file that cannot be read, or whose content is not a
/// valid checkpoint. Every error names the file, the key (tensor name, zip entry, pickle path) where
/// there is one, and what is wrong; none of the readers crashes on bad input.
public struct CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure it is (extensible: new codes may be added).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file could not be opened, mapped or written (the message carries the `errno` name).
        public static let io = Code(rawValue: "io")
        /// The file ends before a structure it announces (header, entry, storage).
        public static let truncated = Code(rawValue: "truncated")
        /// The safetensors header (length or JSON) is malformed or inconsistent.
        public static let invalidHeader = Code(rawValue: "invalidHeader")
        /// The zip container of a `.pth` file is malformed.
        public static let invalidZip = Code(rawValue: "invalidZip")
        /// The pickle stream is malformed (unknown opcode, stack underflow, bad memo index, …).
        public static let invalidPickle = Code(rawValue: "invalidPickle")
        /// A tensor's dtype, shape, strides or offset do not fit its storage.
        public static let invalidTensor = Code(rawValue: "invalidTensor")
        /// A tensor refers to a storage the file does not contain.
        public static let missingStorage = Code(rawValue: "missingStorage")
        /// A valid construct this reader does not implement (compressed zip entry, quantized tensor, …).
        public static let unsupported = Code(rawValue: "unsupported")
        /// The file is not a checkpoint at all (neither safetensors nor PyTorch): see `CheckpointFormat`.
        public static let unrecognizedFormat = Code(rawValue: "unrecognizedFormat")
        /// A key that was asked for is not in the file.
        public static let missingKey = Code(rawValue: "missingKey")
        /// An argument given to a writer or converter is invalid (duplicate name, wrong byte count, …).
        public static let invalidArgument = Code(rawValue: "invalidArgument")
    }

    public var code: Code
    /// Path of the file concerned.
    public var file: String
    /// Tensor name, zip entry or pickle location concerned, if any.
    public var key: String?
    /// What is wrong, in words.
    public var message: String

    public init(_ code: Code, file: String, key: String? = nil, _ message: String) {
        self.code = code
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key {
            return "\(file): '\(key)': \(message) [\(code)]"
        }
        return "\(file): \(message) [\(code)]"
    }
}
