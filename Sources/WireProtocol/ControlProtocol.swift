import Foundation

/// Limits and checks applied to control requests before a handler sees them.
public struct ControlLimits: Sendable {
    /// Largest request accepted, in bytes (larger ones get `message_too_large`). The control socket also
    /// sets `ZMQ_MAXMSGSIZE` to a multiple of this, so truly huge messages are cut off by libzmq.
    public var maxMessageBytes: Int
    /// Longest phrase accepted, in characters (Swift `Character`s, i.e. user-perceived characters).
    public var maxPhraseCharacters: Int
    /// Extra check of a phrase text, e.g. the daemon's tokenizer: returns nil to accept, or the reason
    /// the text is rejected (sent back as `phrase_rejected`). Runs on the control server's thread.
    public var phraseValidator: (@Sendable (String) -> String?)?

    public init(maxMessageBytes: Int = 64 * 1024, maxPhraseCharacters: Int = 256,
                phraseValidator: (@Sendable (String) -> String?)? = nil) {
        self.maxMessageBytes = maxMessageBytes
        self.maxPhraseCharacters = maxPhraseCharacters
        self.phraseValidator = phraseValidator
    }
}

/// A request id: a string or an integer, echoed back unchanged (`null` when a request has none or
/// could not be read).
public enum RequestID: Sendable, Hashable, Codable, CustomStringConvertible {
    case int(Int64)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self) { self = .int(value) } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }

    var json: JSONValue {
        switch self {
        case .int(let value): .int(value)
        case .string(let value): .string(value)
        }
    }

    public var description: String {
        switch self {
        case .int(let value): String(value)
        case .string(let value): "\"\(value)\""
        }
    }
}

/// A control reply: `{"id", "ok": true, "result"}` or `{"id", "ok": false, "error": {"code", "message"}}`.
public struct ControlResponse: Sendable, Equatable {
    public var id: RequestID?
    public var outcome: Result<JSONValue, WireProtocolError>

    public init(id: RequestID?, outcome: Result<JSONValue, WireProtocolError>) {
        self.id = id
        self.outcome = outcome
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["id": id?.json ?? .null]
        switch outcome {
        case .success(let result):
            object["ok"] = .bool(true)
            object["result"] = result
        case .failure(let error):
            object["ok"] = .bool(false)
            object["error"] = .object(["code": .string(error.code.rawValue), "message": .string(error.message)])
        }
        return .object(object)
    }

    public func jsonBytes() -> [UInt8] { json.jsonBytes() }

    /// Parses a reply (the client side).
    public init(jsonBytes: [UInt8]) throws(WireProtocolError) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(jsonBytes)),
              case .object(let object) = value, case .bool(let ok)? = object["ok"]
        else { throw WireProtocolError(.invalidJSON, "the reply is not a control response") }
        switch object["id"] {
        case .int(let i)?: id = .int(i)
        case .string(let s)?: id = .string(s)
        default: id = nil
        }
        if ok {
            outcome = .success(object["result"] ?? .null)
        } else {
            let code = object["error"]?["code"]?.stringValue ?? WireProtocolError.Code.internalError.rawValue
            let message = object["error"]?["message"]?.stringValue ?? ""
            outcome = .failure(WireProtocolError(.init(code), message))
        }
    }
}

/// The control protocol without I/O: bytes in, validated command out, reply bytes back.
///
/// A request is one UTF-8 JSON object `{"id": <string|integer>, "command": "<name>", "params": {...}}`
/// (`params` may be left out for commands without parameters; other top-level keys are ignored).
/// Nothing here traps on input: every malformed request becomes a structured error reply.
public enum ControlProtocol {
    /// Parses `bytes` into a command, or the error to reply with. The request id is returned whenever it
    /// could be read, also for errors, so the reply can echo it.
    public static func parse(_ bytes: [UInt8], limits: ControlLimits) -> (id: RequestID?, command: Result<ControlCommand, WireProtocolError>) {
        guard bytes.count <= limits.maxMessageBytes else {
            return (nil, .failure(WireProtocolError(
                .messageTooLarge, "the request has \(bytes.count) bytes, the limit is \(limits.maxMessageBytes)")))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return (nil, .failure(WireProtocolError(.invalidUTF8, "the request is not valid UTF-8")))
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            return (nil, .failure(WireProtocolError(.invalidJSON, "the request is not JSON: send one JSON object per message")))
        }
        guard case .object(let object) = value else {
            return (nil, .failure(WireProtocolError(.invalidRequest, "the request must be a JSON object {\"id\", \"command\", \"params\"}")))
        }
        var id: RequestID?
        switch object["id"] {
        case nil, .null?: id = nil
        case .int(let i)?: id = .int(i)
        case .string(let s)?: id = .string(s)
        default:
            return (nil, .failure(WireProtocolError(.invalidRequest, "\"id\" must be a string or an integer")))
        }
        guard let commandValue = object["command"] else {
            return (id, .failure(WireProtocolError(.invalidRequest, "the request has no \"command\"")))
        }
        guard case .string(let name) = commandValue else {
            return (id, .failure(WireProtocolError(.invalidRequest, "\"command\" must be a string")))
        }
        let params: [String: JSONValue]
        switch object["params"] {
        case nil, .null?: params = [:]
        case .object(let p)?: params = p
        default: return (id, .failure(WireProtocolError(.invalidRequest, "\"params\" must be an object")))
        }
        return (id, Result { () throws(WireProtocolError) -> ControlCommand in
            try command(named: name, params: params, limits: limits)
        })
    }

    static func command(named name: String, params: [String: JSONValue], limits: ControlLimits) throws(WireProtocolError) -> ControlCommand {
        var reader = ParamsReader(command: name, params: params)
        let command: ControlCommand
        switch name {
        case "phrase.add":
            let stream = try reader.identifier("stream")
            let text = try reader.phrase("text", limits: limits)
            command = .phraseAdd(stream: stream, text: text, id: try reader.optionalIdentifier("id"))
        case "phrase.set":
            command = .phraseSet(id: try reader.identifier("id"), text: try reader.phrase("text", limits: limits))
        case "phrase.remove": command = .phraseRemove(id: try reader.identifier("id"))
        case "phrase.list": command = .phraseList(stream: try reader.optionalIdentifier("stream"))
        case "stream.list": command = .streamList
        case "status": command = .status
        case "stream.add": command = .streamAdd(stream: try reader.identifier("stream"))
        case "stream.remove": command = .streamRemove(stream: try reader.identifier("stream"))
        default:
            throw WireProtocolError(.unknownCommand, "unknown command \"\(name.prefix(64))\"; known: \(ControlCommand.names.joined(separator: ", "))")
        }
        try reader.rejectUnknown()
        return command
    }

    /// Handles one request end to end: parse, call `handler` with the validated command, and encode the
    /// reply. `handler` errors become error replies; nothing escapes.
    public static func respond(
        to bytes: [UInt8], limits: ControlLimits,
        handler: (ControlCommand) throws(WireProtocolError) -> JSONValue
    ) -> ControlResponse {
        let (id, parsed) = parse(bytes, limits: limits)
        switch parsed {
        case .failure(let error): return ControlResponse(id: id, outcome: .failure(error))
        case .success(let command):
            do {
                return ControlResponse(id: id, outcome: .success(try handler(command)))
            } catch {
                return ControlResponse(id: id, outcome: .failure(error))
            }
        }
    }

    /// A request's bytes (the client side).
    public static func request(id: RequestID, command: ControlCommand) -> [UInt8] {
        JSONValue.object(["id": id.json, "command": .string(command.name), "params": command.params]).jsonBytes()
    }
}

/// Reads `params` fields, remembering which were used so unknown ones can be rejected.
struct ParamsReader {
    let command: String
    let params: [String: JSONValue]
    var used: Set<String> = []

    init(command: String, params: [String: JSONValue]) {
        self.command = command
        self.params = params
    }

    mutating func optionalString(_ key: String) throws(WireProtocolError) -> String? {
        used.insert(key)
        switch params[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw WireProtocolError(.invalidParams, "\(command): \"\(key)\" must be a string")
        }
    }

    mutating func optionalIdentifier(_ key: String) throws(WireProtocolError) -> String? {
        guard let value = try optionalString(key) else { return nil }
        guard Identifier.isValid(value) else {
            throw WireProtocolError(.invalidParams, "\(command): \"\(key)\" must be 1 to \(Identifier.maximumLength) characters of A-Z a-z 0-9 _ . -")
        }
        return value
    }

    mutating func identifier(_ key: String) throws(WireProtocolError) -> String {
        guard let value = try optionalIdentifier(key) else {
            throw WireProtocolError(.invalidParams, "\(command): \"\(key)\" is required")
        }
        return value
    }

    mutating func phrase(_ key: String, limits: ControlLimits) throws(WireProtocolError) -> String {
        guard let raw = try optionalString(key) else {
            throw WireProtocolError(.invalidParams, "\(command): \"\(key)\" is required")
        }
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw WireProtocolError(.phraseEmpty, "\(command): the phrase text is empty") }
        let length = text.count
        guard length <= limits.maxPhraseCharacters else {
            throw WireProtocolError(.phraseTooLong, "\(command): the phrase has \(length) characters, the limit is \(limits.maxPhraseCharacters)")
        }
        if let reason = limits.phraseValidator?(text) {
            throw WireProtocolError(.phraseRejected, "\(command): \(reason)")
        }
        return text
    }

    func rejectUnknown() throws(WireProtocolError) {
        let unknown = params.keys.filter { !used.contains($0) }.sorted()
        if !unknown.isEmpty {
            let names = unknown.prefix(5).map { "\"\($0.prefix(32))\"" }.joined(separator: ", ")
            throw WireProtocolError(.invalidParams, "\(command): unknown parameter \(names)")
        }
    }
}
