import Foundation

/// Any JSON value. Integers are kept apart from other numbers so that ids and counters round-trip
/// exactly (`7` stays `7`, not `7.0`).
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value of `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] } else { return nil }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var intValue: Int64? { if case .int(let i) = self { i } else { nil } }

    /// Converts an `Encodable` value (e.g. a `PhraseInfo`) to a `JSONValue`.
    public init(encoding value: some Encodable) throws(WireProtocolError) {
        do {
            let data = try JSONEncoder().encode(value)
            self = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw WireProtocolError(.internalError, "cannot represent \(type(of: value)) as JSON: \(error)")
        }
    }

    /// Decodes this value as `type` (e.g. a reply's `result` as `[PhraseInfo]`).
    public func decode<T: Decodable>(as type: T.Type) throws(WireProtocolError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: JSONEncoder().encode(self))
        } catch {
            throw WireProtocolError(.invalidRequest, "unexpected JSON for \(T.self): \(error)")
        }
    }

    /// Compact JSON bytes with sorted keys (stable output for logs and tests).
    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail except for non-finite doubles, which never come from JSON;
        // represent them as null rather than trapping.
        if let data = try? encoder.encode(self) { return Array(data) }
        return Array("null".utf8)
    }
}
