/// ZeroMQ topics (the first frame of every published message).
///
/// ZeroMQ subscriptions match by byte prefix, so `masks/cam0/p1` also matches `masks/cam0/p10`: a
/// subscriber interested in one phrase compares the whole topic frame (the `MaskSubscriber` does).
public enum Topic {
    /// `masks/<stream>/<phrase-id>`.
    public static func mask(stream: String, phrase: String) -> String { "masks/\(stream)/\(phrase)" }
    /// `events/<stream>`.
    public static func events(stream: String) -> String { "events/\(stream)" }
    /// `status`.
    public static let status = "status"

    /// The subscription prefix for masks of one stream (`masks/<stream>/`), or of all streams (`masks/`).
    public static func maskPrefix(stream: String? = nil) -> String {
        stream.map { "masks/\($0)/" } ?? "masks/"
    }

    /// Splits `masks/<stream>/<phrase-id>` into its ids; nil for any other topic.
    public static func parseMask(_ topic: [UInt8]) -> (stream: String, phrase: String)? {
        guard let text = String(validating: topic, as: UTF8.self), text.hasPrefix("masks/") else { return nil }
        let parts = text.dropFirst("masks/".count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}

/// Identifier rules for stream and phrase ids: they appear in topics, so they are 1 to 64 characters of
/// `A-Z a-z 0-9 _ . -` (no `/`, which would break topic matching).
public enum Identifier {
    public static let maximumLength = 64

    public static func isValid(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= maximumLength else { return false }
        return id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x5F || c == 0x2E || c == 0x2D
        }
    }
}
