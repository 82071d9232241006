/// A token matched literally in the input before pre-tokenisation, as `tokenizers`' `AddedToken`
/// (the special tokens `<s>`, `<pad>`, `</s>`, `<unk>`, `<mask>` of RoBERTa, and any `added_tokens` of a
/// `tokenizer.json`).
public struct AddedToken: Sendable, Hashable {
    /// The literal text.
    public var content: String
    public var id: Int32
    /// Matches only when not preceded or followed by a word character (`\w` of Rust's `regex`).
    public var singleWord: Bool
    /// Also consumes the whitespace on its left (`<mask>` of RoBERTa: "a <mask>" → "a", "<mask>").
    public var leftStrip: Bool
    /// Also consumes the whitespace on its right.
    public var rightStrip: Bool
    /// Special tokens are left out by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool

    public init(
        content: String, id: Int32, singleWord: Bool = false, leftStrip: Bool = false,
        rightStrip: Bool = false, special: Bool = true
    ) {
        self.content = content
        self.id = id
        self.singleWord = singleWord
        self.leftStrip = leftStrip
        self.rightStrip = rightStrip
        self.special = special
    }
}

/// Splits text on added tokens as `tokenizers`' `AddedVocabulary` does: leftmost-longest,
/// non-overlapping matches over the UTF-8 bytes (its Aho–Corasick automaton with `LeftmostLongest`);
/// a match rejected by `singleWord` is skipped and the search resumes after it; `leftStrip`/`rightStrip`
/// widen a match over adjacent `White_Space` scalars (Rust's `char::is_whitespace`), never back into the
/// previous split.
struct AddedTokenMatcher: Sendable {
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Pattern: Sendable {
        var bytes: [UInt8]
        var token: AddedToken
    }

    /// Longest first, so the first hit at a position is the longest.
    private let patterns: [Pattern]
    private let isFirstByte: [Bool]

    init(_ tokens: [AddedToken]) {
        patterns = tokens.filter { !$0.content.isEmpty }
            .map { Pattern(bytes: Array($0.content.utf8), token: $0) }
            .sorted { $0.bytes.count > $1.bytes.count }
        var firsts = [Bool](repeating: false, count: 256)
        for pattern in patterns { firsts[Int(pattern.bytes[0])] = true }
        isFirstByte = firsts
    }

    func split(_ bytes: [UInt8]) -> [Segment] {
        var segments: [Segment] = []
        var previousEnd = 0
        var position = 0
        let count = bytes.count
        while position < count {
            guard isFirstByte[Int(bytes[position])],
                let pattern = patterns.first(where: { matches($0.bytes, in: bytes, at: position) })
            else {
                position += 1
                continue
            }
            var start = position
            var stop = position + pattern.bytes.count
            position = stop
            let token = pattern.token
            if token.singleWord
                && (Self.wordCharacter(endingAt: start, in: bytes)
                    || Self.wordCharacter(startingAt: stop, in: bytes))
            {
                continue
            }
            if token.leftStrip {
                while start > previousEnd, let (scalar, length) = Self.scalar(endingAt: start, in: bytes),
                    scalar.properties.isWhitespace, start - length >= previousEnd
                {
                    start -= length
                }
            }
            if token.rightStrip {
                while let (scalar, length) = Self.scalar(startingAt: stop, in: bytes),
                    scalar.properties.isWhitespace
                {
                    stop += length
                }
                position = stop
            }
            if previousEnd < start { segments.append(.text(previousEnd..<start)) }
            segments.append(.token(token.id))
            previousEnd = stop
        }
        if previousEnd < count { segments.append(.text(previousEnd..<count)) }
        return segments
    }

    private func matches(_ pattern: [UInt8], in bytes: [UInt8], at position: Int) -> Bool {
        guard position + pattern.count <= bytes.count else { return false }
        for offset in 0..<pattern.count where bytes[position + offset] != pattern[offset] { return false }
        return true
    }

    /// The scalar whose UTF-8 encoding starts at `position`, and its length.
    static func scalar(startingAt position: Int, in bytes: [UInt8]) -> (Unicode.Scalar, Int)? {
        guard position < bytes.count else { return nil }
        var end = position + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return decode(bytes[position..<end]).map { ($0, end - position) }
    }

    /// The scalar whose UTF-8 encoding ends just before `position`, and its length.
    static func scalar(endingAt position: Int, in bytes: [UInt8]) -> (Unicode.Scalar, Int)? {
        guard position > 0 else { return nil }
        var start = position - 1
        while start > 0, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return decode(bytes[start..<position]).map { ($0, position - start) }
    }

    private static func decode(_ bytes: ArraySlice<UInt8>) -> Unicode.Scalar? {
        String(validating: bytes, as: UTF8.self)?.unicodeScalars.first
    }

    /// Rust `regex`'s Unicode `\w`: Alphabetic, M*, Nd, Pc, Join_Control.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isAlphabetic || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }

    private static func wordCharacter(endingAt position: Int, in bytes: [UInt8]) -> Bool {
        scalar(endingAt: position, in: bytes).map { isWordCharacter($0.0) } ?? false
    }

    private static func wordCharacter(startingAt position: Int, in bytes: [UInt8]) -> Bool {
        scalar(startingAt: position, in: bytes).map { isWordCharacter($0.0) } ?? false
    }
}
