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
    /// Matched in the second pass, after the tokens with `normalized == false` (see `tokenizers`'
    /// `AddedVocabulary`; this tokenizer has no normaliser, so only the order of the passes differs).
    public var normalized: Bool

    public init(
        content: String, id: Int32, singleWord: Bool = false, leftStrip: Bool = false,
        rightStrip: Bool = false, special: Bool = true, normalized: Bool = false
    ) {
        self.content = content
        self.id = id
        self.singleWord = singleWord
        self.leftStrip = leftStrip
        self.rightStrip = rightStrip
        self.special = special
        self.normalized = normalized
    }
}

/// Splits text on added tokens as `tokenizers`' `AddedVocabulary` does: leftmost-longest,
/// non-overlapping matches over the UTF-8 bytes (its Aho–Corasick automaton with `LeftmostLongest`);
/// a match rejected by `singleWord` is skipped and the search resumes after it; `leftStrip`/`rightStrip`
/// widen a match over adjacent `White_Space` scalars (Rust's `char::is_whitespace`), never beyond the
/// text being split nor back into the previous match. As in `tokenizers`, tokens with `normalized: false`
/// are matched first, then those with `normalized: true` inside the remaining text (there is no
/// normaliser, so the text is the same).
struct AddedTokenMatcher: Sendable {
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Pattern: Sendable {
        var bytes: [UInt8]
        var token: AddedToken
    }

    private struct PatternSet: Sendable {
        /// Longest first, so the first hit at a position is the longest.
        var patterns: [Pattern]
        var isFirstByte: [Bool]

        init(_ tokens: [AddedToken]) {
            patterns = tokens.filter { !$0.content.isEmpty }
                .map { Pattern(bytes: Array($0.content.utf8), token: $0) }
                .sorted { $0.bytes.count > $1.bytes.count }
            var firsts = [Bool](repeating: false, count: 256)
            for pattern in patterns { firsts[Int(pattern.bytes[0])] = true }
            isFirstByte = firsts
        }
    }

    private let raw: PatternSet
    private let normalized: PatternSet

    init(_ tokens: [AddedToken]) {
        raw = PatternSet(tokens.filter { !$0.normalized })
        normalized = PatternSet(tokens.filter(\.normalized))
    }

    func split(_ bytes: [UInt8]) -> [Segment] {
        let first = Self.split(bytes, 0..<bytes.count, raw)
        if normalized.patterns.isEmpty { return first }
        var segments: [Segment] = []
        for segment in first {
            switch segment {
            case .token: segments.append(segment)
            case .text(let range): segments += Self.split(bytes, range, normalized)
            }
        }
        return segments
    }

    private static func split(_ bytes: [UInt8], _ range: Range<Int>, _ set: PatternSet) -> [Segment] {
        var segments: [Segment] = []
        var previousEnd = range.lowerBound
        var position = range.lowerBound
        let end = range.upperBound
        while position < end {
            guard set.isFirstByte[Int(bytes[position])],
                let pattern = set.patterns.first(where: { matches($0.bytes, in: bytes, at: position, end: end) })
            else {
                position += 1
                continue
            }
            var start = position
            var stop = position + pattern.bytes.count
            position = stop
            let token = pattern.token
            if token.singleWord {
                let before = scalar(endingAt: start, in: bytes, lowerBound: range.lowerBound)
                let after = scalar(startingAt: stop, in: bytes, upperBound: end)
                if before.map({ isWordCharacter($0.0) }) == true || after.map({ isWordCharacter($0.0) }) == true {
                    continue
                }
            }
            if token.leftStrip {
                while let (scalar, length) = scalar(endingAt: start, in: bytes, lowerBound: previousEnd),
                    scalar.properties.isWhitespace
                {
                    start -= length
                }
            }
            if token.rightStrip {
                while let (scalar, length) = scalar(startingAt: stop, in: bytes, upperBound: end),
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
        if previousEnd < end { segments.append(.text(previousEnd..<end)) }
        return segments
    }

    private static func matches(_ pattern: [UInt8], in bytes: [UInt8], at position: Int, end: Int) -> Bool {
        guard position + pattern.count <= end else { return false }
        for offset in 0..<pattern.count where bytes[position + offset] != pattern[offset] { return false }
        return true
    }

    /// The scalar whose UTF-8 encoding starts at `position` (before `upperBound`), and its length.
    static func scalar(startingAt position: Int, in bytes: [UInt8], upperBound: Int) -> (Unicode.Scalar, Int)? {
        guard position < upperBound else { return nil }
        var end = position + 1
        while end < upperBound, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return decode(bytes[position..<end]).map { ($0, end - position) }
    }

    /// The scalar whose UTF-8 encoding ends just before `position` (not before `lowerBound`), and its length.
    static func scalar(endingAt position: Int, in bytes: [UInt8], lowerBound: Int) -> (Unicode.Scalar, Int)? {
        guard position > lowerBound else { return nil }
        var start = position - 1
        while start > lowerBound, bytes[start] & 0xC0 == 0x80 { start -= 1 }
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
}
