import Testing
@testable import Tokenizer

@Suite("GPT-2 pre-tokenisation and the byte-level alphabet")
struct PreTokenizerTests {
    static func pieces(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var scratch = PreTokenizer.Scratch()
        var pieces: [String] = []
        PreTokenizer.split(bytes, 0..<bytes.count, scratch: &scratch) { range in
            pieces.append(String(decoding: bytes[range], as: UTF8.self))
        }
        return pieces
    }

    /// Expected pieces from HF `tokenizers` 0.23.3 (the last four also checked with 0.21.4):
    /// `pre_tokenizers.ByteLevel(add_prefix_space=False).pre_tokenize_str(s)` (offsets mapped back to
    /// the text). They pin down which scalars are `\s`: U+0085, U+2028, U+3000, NBSP, U+000B/C are;
    /// U+001C, U+FEFF, ZWSP, U+180E, U+2060, U+00AD are not.
    @Test(
        "pieces equal the ByteLevel pre-tokenizer's",
        arguments: [
            (" \u{1C}", [" \u{1C}"]),
            ("a \u{1C}\u{1C} b", ["a", " \u{1C}\u{1C}", " b"]),
            (" \u{85}x", [" ", "\u{85}", "x"]),
            ("a \u{2028}b", ["a", " ", "\u{2028}", "b"]),
            (" \u{FEFF}b", [" \u{FEFF}", "b"]),
            ("a\u{200B}\u{200B} b", ["a", "\u{200B}\u{200B}", " b"]),
            (" \u{3000}x", [" ", "\u{3000}", "x"]),
            ("x \u{A0} y", ["x", " \u{A0}", " y"]),
            ("\u{301}\u{301}a", ["\u{301}\u{301}", "a"]),
            (" \u{301}a", [" \u{301}", "a"]),
            ("a'sb", ["a", "'s", "b"]),
            (" 's", [" '", "s"]),
            ("a '  'll", ["a", " '", " ", " '", "ll"]),
            ("3\u{BD}\u{2163}x", ["3\u{BD}\u{2163}", "x"]),
            (" \u{1F436}\u{1F3FD}!", [" \u{1F436}\u{1F3FD}!"]),
            ("x\u{0B}\u{0B}", ["x", "\u{0B}\u{0B}"]),
            ("x \u{0C} y", ["x", " \u{0C}", " y"]),
            ("\u{180E} \u{2060}", ["\u{180E}", " \u{2060}"]),
            ("  \n\n  x", ["  \n\n ", " x"]),
            ("\u{AD}-", ["\u{AD}-"]),
            ("", []),
            // Unicode version: tokenizers 0.21.4 knows Unicode 16.0 (Garay letter U+10D4A, outlined digit
            // U+1CCF0) but not 17.0 (U+32BBE, CJK extension J, is "other" there).
            ("a\u{10D4A}b", ["a\u{10D4A}b"]),
            ("a\u{1CCF0}b", ["a", "\u{1CCF0}", "b"]),
            ("a\u{32BBE}b", ["a", "\u{32BBE}", "b"]),
            ("\u{32BBE}'", ["\u{32BBE}'"]),
        ] as [(String, [String])])
    func pieces(text: String, expected: [String]) {
        let pieces = Self.pieces(text)
        // Compare scalar by scalar: String == would treat canonically equivalent pieces as equal.
        let same = pieces.count == expected.count
            && zip(pieces, expected).allSatisfy { $0.unicodeScalars.elementsEqual($1.unicodeScalars) }
        #expect(same, "\(text.debugDescription): expected \(expected.map(\.debugDescription)), got \(pieces.map(\.debugDescription))")
    }

    @Test("the byte-level table is GPT-2's bytes_to_unicode")
    func byteLevelTable() {
        let table = ByteLevel.scalarForByte
        #expect(Set(table).count == 256)
        #expect(table[0x20] == "\u{120}", "space is Ġ")
        #expect(table[0x0A] == "\u{10A}", "newline is Ċ")
        #expect(table[0x00] == "\u{100}")
        #expect(table[0x7F] == "\u{121}")
        #expect(table[0xAD] == "\u{143}", "soft hyphen, the last non-printable byte, is U+0143")
        #expect(table[0x61] == "a")
        #expect(table[0xE9] == "\u{E9}")
        for byte in 0..<256 {
            #expect(ByteLevel.byte(for: table[byte]) == UInt8(byte))
        }
        #expect(ByteLevel.bytes(forToken: "Ġthe") == Array(" the".utf8))
        #expect(ByteLevel.bytes(forToken: "\u{144}") == nil)
    }
}
