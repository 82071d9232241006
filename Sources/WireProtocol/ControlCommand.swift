/// A validated control command: what a `ControlHandler` (the daemon) carries out.
///
/// Ids in commands have passed `Identifier.isValid`; phrase texts are trimmed, non-empty, within the
/// length limit and accepted by the configured validator.
public enum ControlCommand: Sendable, Equatable {
    /// `phrase.add {stream, text, id?}`: start segmenting `text` in `stream`; the daemon picks an id when
    /// none is given.
    case phraseAdd(stream: String, text: String, id: String?)
    /// `phrase.set {id, text}`: replace the text of a phrase (its id, topic and sequence continue).
    case phraseSet(id: String, text: String)
    /// `phrase.remove {id}`.
    case phraseRemove(id: String)
    /// `phrase.list {stream?}`.
    case phraseList(stream: String?)
    /// `stream.list`.
    case streamList
    /// `status`.
    case status
    /// `stream.add {stream}`: start a source declared in the configuration.
    case streamAdd(stream: String)
    /// `stream.remove {stream}`: stop a source.
    case streamRemove(stream: String)

    /// The command's name on the wire.
    public var name: String {
        switch self {
        case .phraseAdd: "phrase.add"
        case .phraseSet: "phrase.set"
        case .phraseRemove: "phrase.remove"
        case .phraseList: "phrase.list"
        case .streamList: "stream.list"
        case .status: "status"
        case .streamAdd: "stream.add"
        case .streamRemove: "stream.remove"
        }
    }

    /// Every command name, for help texts and `unknown_command` messages.
    public static let names = [
        "phrase.add", "phrase.set", "phrase.remove", "phrase.list", "stream.list", "status", "stream.add",
        "stream.remove",
    ]

    /// The `params` object of this command (what a client sends).
    public var params: JSONValue {
        switch self {
        case .phraseAdd(let stream, let text, let id):
            var object: [String: JSONValue] = ["stream": .string(stream), "text": .string(text)]
            if let id { object["id"] = .string(id) }
            return .object(object)
        case .phraseSet(let id, let text): return .object(["id": .string(id), "text": .string(text)])
        case .phraseRemove(let id): return .object(["id": .string(id)])
        case .phraseList(let stream): return .object(stream.map { ["stream": .string($0)] } ?? [:])
        case .streamList, .status: return .object([:])
        case .streamAdd(let stream), .streamRemove(let stream): return .object(["stream": .string(stream)])
        }
    }
}

/// A phrase as the control protocol reports it (`phrase.add`, `phrase.set`, `phrase.list`).
public struct PhraseInfo: Sendable, Equatable, Codable {
    public var id: String
    public var stream: String
    public var text: String

    public init(id: String, stream: String, text: String) {
        self.id = id
        self.stream = stream
        self.text = text
    }
}

/// A stream as the control protocol reports it (`stream.list`, `stream.add`).
public struct StreamInfo: Sendable, Equatable, Codable {
    public var id: String
    /// `connecting`, `live`, `stalled`, `reconnecting`, `eos` or `stopped`.
    public var state: String
    /// Whether the stream is running (declared streams can be stopped with `stream.remove`).
    public var active: Bool

    public init(id: String, state: String, active: Bool) {
        self.id = id
        self.state = state
        self.active = active
    }
}
