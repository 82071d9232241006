import Foundation

/// A GStreamer pipeline description with named `{placeholders}`, as kept in `pipelines/*.pipeline`.
///
/// A template file is a `gst-launch-1.0` description preceded by `#` comment lines that document it.
/// Comment lines are dropped and the remaining lines are joined with spaces. A placeholder is
/// `{lowercase_name}` (`[a-z][a-z0-9_]*`); anything else in braces (caps lists such as
/// `format={ I420, NV12 }`) is left alone.
///
/// Filling is strict: every placeholder must get a value and every value must have a placeholder, so a
/// misspelt key in a configuration or a template is an error rather than a silently different pipeline.
/// Values are rendered by type (`TemplateValue`): strings are double-quoted and escaped the way
/// `gst_parse_launch` unescapes them, numbers and tokens are validated.
public struct PipelineTemplate: Sendable, Equatable {
    /// A name for messages (the file name without extension for the built-in ones).
    public let name: String
    /// The description with placeholders, comments removed.
    public let body: String
    /// The placeholder names in order of first appearance, without duplicates.
    public let placeholders: [String]

    /// Parses template text (the contents of a `.pipeline` file).
    /// - Throws: `.template` if no description remains after the comments.
    public init(name: String, text: String) throws(IngestError) {
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !lines.isEmpty else {
            throw IngestError(.template, "pipeline template '\(name)' holds no pipeline description (only comments or blank lines)")
        }
        self.name = name
        self.body = lines.joined(separator: " ")
        var seen = Set<String>(), ordered: [String] = []
        for piece in Self.scan(body) {
            if case .placeholder(let key) = piece, seen.insert(key).inserted { ordered.append(key) }
        }
        self.placeholders = ordered
    }

    /// Reads a template file.
    /// - Throws: `.template` when the file cannot be read or holds no description.
    public init(contentsOfFile path: String) throws(IngestError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw IngestError(.template, "cannot read pipeline template '\(path)'", underlying: "\(error)")
        }
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        try self.init(name: name, text: text)
    }

    /// The description with every placeholder replaced by its rendered value.
    /// - Throws: `.template` listing the missing and the unknown parameters together;
    ///   `.configuration` when a value is not acceptable for its type.
    public func fill(_ values: [String: TemplateValue]) throws(IngestError) -> String {
        let missing = placeholders.filter { values[$0] == nil }
        let unknown = values.keys.filter { !placeholders.contains($0) }.sorted()
        if !missing.isEmpty || !unknown.isEmpty {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing: \(missing.joined(separator: ", "))") }
            if !unknown.isEmpty { parts.append("unknown: \(unknown.joined(separator: ", "))") }
            throw IngestError(
                .template,
                "pipeline template '\(name)' parameters do not match (\(parts.joined(separator: "; "))); "
                    + "it takes \(placeholders.map { "{\($0)}" }.joined(separator: " "))")
        }
        var out = ""
        for piece in Self.scan(body) {
            switch piece {
            case .text(let text): out += text
            case .placeholder(let key):
                do { out += try values[key]!.rendered() } catch {
                    throw IngestError(.configuration, "parameter {\(key)} of pipeline template '\(name)': \(error.message)")
                }
            }
        }
        return out
    }

    private enum Piece { case text(String), placeholder(String) }

    private static func scan(_ body: String) -> [Piece] {
        var pieces: [Piece] = []
        var text = ""
        var rest = Substring(body)
        while let open = rest.firstIndex(of: "{") {
            text += rest[..<open]
            let afterOpen = rest.index(after: open)
            if let close = rest[afterOpen...].firstIndex(of: "}"), isPlaceholderName(rest[afterOpen..<close]) {
                if !text.isEmpty { pieces.append(.text(text)); text = "" }
                pieces.append(.placeholder(String(rest[afterOpen..<close])))
                rest = rest[rest.index(after: close)...]
            } else {
                text += "{"
                rest = rest[afterOpen...]
            }
        }
        text += rest
        if !text.isEmpty { pieces.append(.text(text)) }
        return pieces
    }

    private static func isPlaceholderName(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}

/// A typed value for a template placeholder; the type decides how it is written into the description.
public enum TemplateValue: Sendable, Equatable {
    /// Written double-quoted with `\` and `"` escaped (what `gst_value_deserialize` unwraps for string,
    /// URI and caps properties). Control characters are rejected.
    case string(String)
    /// A decimal integer.
    case integer(Int)
    /// `true` or `false`.
    case boolean(Bool)
    /// `numerator/denominator`; the denominator must be positive.
    case fraction(Int, Int)
    /// A bare word such as an enum nick or flags (`tcp+udp`): letters, digits and `_ - + .` only.
    case token(String)
    /// Inserted as is. Only for text that GStreamer's parser checks as a whole: the output chain built
    /// by ReferStream and a user's custom description.
    case verbatim(String)

    func rendered() throws(IngestError) -> String {
        switch self {
        case .string(let value):
            if let bad = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
                throw IngestError(.configuration, "the value contains the control character U+\(String(bad.value, radix: 16, uppercase: true)); remove it")
            }
            var out = "\""
            for character in value {
                if character == "\\" || character == "\"" { out.append("\\") }
                out.append(character)
            }
            return out + "\""
        case .integer(let value):
            return String(value)
        case .boolean(let value):
            return value ? "true" : "false"
        case .fraction(let numerator, let denominator):
            guard denominator > 0, numerator >= 0 else {
                throw IngestError(.configuration, "the fraction \(numerator)/\(denominator) is not a valid rate; use a positive denominator")
            }
            return "\(numerator)/\(denominator)"
        case .token(let value):
            let allowed = value.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-+.".unicodeScalars.contains($0)
            }
            guard !value.isEmpty, allowed else {
                throw IngestError(.configuration, "'\(value)' is not a valid word here; use letters, digits and _ - + . only")
            }
            return value
        case .verbatim(let value):
            guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw IngestError(.configuration, "the value is empty")
            }
            return value
        }
    }
}
