import Foundation
import Testing
import Tokenizer

/// 100 % identical `input_ids` and `attention_mask` on every case of the golden `cases.json`
/// (`RobertaTokenizerFast(vocab_file, merges_file)`, transformers 4.49 / tokenizers 0.21.4).
@Suite("RobertaTokenizerFast parity")
struct ParityTests {
    static func mismatches(_ tokenizer: RobertaTokenizer, _ cases: [Fixtures.Case] = Fixtures.cases) throws -> [String] {
        var mismatches: [String] = []
        for golden in cases {
            // The golden never truncates (one case has 543 tokens): no length limit here.
            let encoding = try tokenizer.encode(golden.text, maxLength: nil)
            if encoding.ids != golden.input_ids || encoding.attentionMask != golden.attention_mask {
                let tokens = (try? tokenizer.tokens(for: encoding.ids)) ?? []
                mismatches.append(
                    "\(golden.name) text=\(golden.text.debugDescription)\n  expected \(golden.input_ids)\n"
                        + "  got      \(encoding.ids) \(tokens)\n  mask \(encoding.attentionMask)")
            }
        }
        return mismatches
    }

    @Test("all 300 golden cases, vocab.json + merges.txt")
    func vocabularyAndMerges() throws {
        #expect(Fixtures.cases.count == 300, "cases.json at \(Fixtures.url("cases.json").path)")
        let mismatches = try Self.mismatches(try Fixtures.vocabularyAndMerges())
        #expect(mismatches.isEmpty, "\(mismatches.count) of 300 differ:\n\(mismatches.joined(separator: "\n"))")
    }

    @Test(
        "all 300 golden cases, tokenizer.json (merges as pairs and as strings)",
        arguments: ["tokenizer.json", "tokenizer-legacy-merges.json"])
    func tokenizerJSON(file: String) throws {
        let tokenizer = try RobertaTokenizer(tokenizerJSON: Fixtures.url(file))
        let mismatches = try Self.mismatches(tokenizer)
        #expect(mismatches.isEmpty, "\(mismatches.count) of 300 differ:\n\(mismatches.joined(separator: "\n"))")
    }

    /// 1000 seeded random strings (every whitespace class, contractions, literal special tokens, BMP and
    /// astral code points, unassigned ones and Unicode 17 additions) with the ids of `tokenizers` 0.21.4
    /// (the golden's version); see `Tests/Fixtures/tokenizer/make_fuzz_cases.py`.
    @Test("1000 random strings equal tokenizers 0.21.4")
    func fuzzCases() throws {
        #expect(Fixtures.fuzzCases.count == 1000, "fuzz_cases.json at \(Fixtures.url("fuzz_cases.json").path)")
        let mismatches = try Self.mismatches(try Fixtures.vocabularyAndMerges(), Fixtures.fuzzCases)
        #expect(mismatches.isEmpty, "\(mismatches.count) of 1000 differ:\n\(mismatches.joined(separator: "\n"))")
    }

    /// Extra strings whose ids were computed with HF `tokenizers` 0.23.3 from `tokenizer.json`
    /// (`Tokenizer.from_file("tokenizer.json").encode(s).ids`): whitespace classes the golden does not
    /// cover (U+001C, U+0085, U+2028/9, U+FEFF, ZWSP), contractions in capitals, and `<mask>` lstrip over
    /// several and non-ASCII spaces.
    @Test(
        "extra edge cases checked against tokenizers 0.23.3",
        arguments: [
            ("a\u{1C}b", [0, 69, 221, 70, 2]),
            ("a\u{1C} b", [0, 69, 221, 266, 2]),
            ("a\u{85}b", [0, 69, 131, 232, 70, 2]),
            ("a\u{2028}\u{2029}b", [0, 69, 163, 227, 106, 163, 227, 107, 70, 2]),
            ("a\u{FEFF}b", [0, 69, 176, 124, 128, 70, 2]),
            ("\u{3000} dog", [0, 164, 227, 227, 503, 2]),
            (" \u{A0}dog", [0, 225, 131, 259, 72, 83, 75, 2]),
            ("x'S y'Ve", [0, 92, 11, 55, 488, 11, 58, 73, 2]),
            ("don\u{2019}t", [0, 72, 274, 163, 227, 252, 88, 2]),
            ("a  \u{3000}\u{3000}b", [0, 69, 225, 225, 164, 227, 227, 164, 227, 227, 70, 2]),
            ("the dog \n", [0, 262, 503, 225, 203, 2]),
            ("e\u{301} \u{E9}", [0, 73, 141, 228, 225, 460, 2]),
            ("<mask>", [0, 4, 2]),
            ("  <mask>dog", [0, 4, 72, 83, 75, 2]),
            ("a\u{A0}<mask>", [0, 69, 4, 2]),
            ("<s><s>", [0, 0, 0, 2]),
            ("</s2>", [0, 32, 19, 87, 22, 34, 2]),
            ("<mas", [0, 32, 586, 87, 2]),
            ("\u{2163} \u{BD} \u{661}\u{662}", [0, 163, 232, 101, 225, 131, 126, 225, 154, 99, 154, 100, 2]),
            ("\u{2B0}a \u{1F88}x", [0, 139, 113, 69, 225, 162, 127, 235, 92, 2]),
            ("a\u{200B} b", [0, 69, 163, 227, 238, 266, 2]),
            ("\t\t dog", [0, 202, 202, 503, 2]),
            ("I'M HE'LL", [0, 45, 11, 49, 225, 362, 11, 48, 48, 2]),
            ("''''", [0, 11, 11, 11, 11, 2]),
            ("1'000's", [0, 21, 11, 767, 344, 2]),
        ] as [(String, [Int32])])
    func extraEdgeCases(text: String, expected: [Int32]) throws {
        let tokenizer = try Fixtures.vocabularyAndMerges()
        let ids = try tokenizer.encode(text).ids
        #expect(ids == expected, "\(text.debugDescription): expected \(expected), got \(ids)")
    }
}
