/// One JSON value as read by `JSONReader`, with where it starts in the text.
///
/// What Foundation's `JSONSerialization` does not give and the project's readers need: object members
/// in file order with keys exactly as spelled (a `[String: Any]` would merge canonically equivalent
/// keys such as "é" and "e\u{301}", which are distinct tokens), numbers as written (integers stay
/// apart from floats and booleans; converted on demand), and the line and byte offset of every value
/// so errors can point at it.
public struct JSONNode: Sendable {
    public enum Value: Sendable {
        case object([JSONMember])
        case array([JSONNode])
        case string(String)
        /// The number's text, as written (RFC 8259 syntax, checked); see `intValue`, `doubleValue`.
        case number(String)
        case bool(Bool)
        case null
    }

    public var value: Value
    /// 1-based line where the value starts.
    public var line: Int
    /// 0-based byte offset where the value starts.
    public var offset: Int

    public init(value: Value, line: Int, offset: Int) {
        self.value = value
        self.line = line
        self.offset = offset
    }

    /// "an object", "an array", "a string", "a number", "a boolean" or "null", for messages.
    public var typeName: String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// The first member with this key (keys compared by Unicode scalars, not canonical equivalence),
    /// when this is an object.
    public subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key.unicodeScalars.elementsEqual(key.unicodeScalars) }?.value
    }

    public var stringValue: String? {
        if case .string(let text) = value { return text }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }

    public var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    /// The value as an integer, when it is a number written without fraction or exponent that fits
    /// an `Int` (`3` yes; `3.0`, `3e0` and `9223372036854775808` no).
    public var intValue: Int? {
        if case .number(let text) = value { return Int(text) }
        return nil
    }

    /// The value as a floating-point number (any number).
    public var doubleValue: Double? {
        if case .number(let text) = value { return Double(text) }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONNode]? {
        if case .array(let elements) = value { return elements }
        return nil
    }

    /// The members in file order, when this is an object.
    public var objectValue: [JSONMember]? {
        if case .object(let members) = value { return members }
        return nil
    }
}

/// One member of a JSON object. (A struct, not a tuple: a recursive enum holding tuples can make the
/// compiler report a spurious circular reference.)
public struct JSONMember: Sendable {
    public var key: String
    public var value: JSONNode

    public init(key: String, value: JSONNode) {
        self.key = key
        self.value = value
    }
}
