import Foundation
import Testing
import Tokenizer

@Suite("Loading vocab.json, merges.txt and tokenizer.json")
struct LoadingTests {
    static func vocabulary() throws -> Data { try Data(contentsOf: Fixtures.url("vocab.json")) }
    static func merges() throws -> Data { try Data(contentsOf: Fixtures.url("merges.txt")) }

    /// Replaces line `line` (1-based) of `data` with `replacement`.
    static func replacingLine(_ line: Int, of data: Data, with replacement: String) -> Data {
        var lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        lines[line - 1] = replacement
        return Data(lines.joined(separator: "\n").utf8)
    }

    static func loadError(vocabulary: Data, merges: Data) throws -> TokenizerError {
        try #require(throws: TokenizerError.self) {
            try RobertaTokenizer(
                vocabularyData: vocabulary, mergesData: merges, vocabularyFileName: "/x/vocab.json",
                mergesFileName: "/x/merges.txt")
        }
    }

    @Test("tokenizer.json and vocab.json + merges.txt give the same tokenizer")
    func tokenizerJSONEqualsVocabularyAndMerges() throws {
        let fromFiles = try Fixtures.vocabularyAndMerges()
        for file in ["tokenizer.json", "tokenizer-legacy-merges.json"] {
            let fromJSON = try RobertaTokenizer(tokenizerJSON: Fixtures.url(file))
            #expect(fromJSON.addedTokens == fromFiles.addedTokens, "\(file)")
            #expect(fromJSON.specialTokenIDs.prefix == [0] && fromJSON.specialTokenIDs.suffix == [2])
            #expect(fromJSON.padTokenID == 1)
            for id in Int32(0)..<1000 {
                #expect(fromJSON.token(for: id) == fromFiles.token(for: id), "id \(id) in \(file)")
            }
            for golden in Fixtures.cases {
                #expect(
                    try fromJSON.encode(golden.text, maxLength: nil) == fromFiles.encode(golden.text, maxLength: nil),
                    "\(golden.name) with \(file)")
            }
        }
    }

    @Test("merges.txt: a line that is not two tokens names the file and line")
    func mergesBadLine() throws {
        let merges = Self.replacingLine(5, of: try Self.merges(), with: "a b c")
        let error = try Self.loadError(vocabulary: try Self.vocabulary(), merges: merges)
        #expect(error.code == .malformedMerges)
        #expect(error.file == "/x/merges.txt" && error.line == 5, "\(error)")
        #expect(error.description.hasPrefix("/x/merges.txt:5: "), "\(error)")
    }

    @Test("merges.txt: a token or merged token missing from the vocabulary names the line")
    func mergesUnknownToken() throws {
        var error = try Self.loadError(
            vocabulary: try Self.vocabulary(), merges: Self.replacingLine(3, of: try Self.merges(), with: "t \u{144}"))
        #expect(error.code == .malformedMerges && error.line == 3, "\(error)")
        // "Ġ Ġ" are both tokens, but "ĠĠ" is not in this vocabulary.
        error = try Self.loadError(
            vocabulary: try Self.vocabulary(), merges: Self.replacingLine(7, of: try Self.merges(), with: "\u{120} \u{120}"))
        #expect(error.code == .malformedMerges && error.line == 7, "\(error)")
        #expect(error.message.contains("merged token"), "\(error)")
    }

    @Test("merges.txt: an empty line in the middle is an error; a missing #version line and CRLF are not")
    func mergesLayout() throws {
        let error = try Self.loadError(
            vocabulary: try Self.vocabulary(), merges: Self.replacingLine(10, of: try Self.merges(), with: ""))
        #expect(error.code == .malformedMerges && error.line == 10, "\(error)")
        let text = String(decoding: try Self.merges(), as: UTF8.self)
        let withoutVersion = Data(text.split(separator: "\n", maxSplits: 1)[1].utf8)
        let crlf = Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let reference = try Fixtures.vocabularyAndMerges()
        for merges in [withoutVersion, crlf] {
            let tokenizer = try RobertaTokenizer(vocabularyData: try Self.vocabulary(), mergesData: merges)
            #expect(try tokenizer.encode("the tall man's dog") == reference.encode("the tall man's dog"))
        }
    }

    @Test("vocab.json: invalid JSON, a non-integer id, a repeated token name the file and line")
    func vocabularyErrors() throws {
        let vocabulary = Data("{\n  \"a\": 0,\n  \"b\": 1,,\n  \"c\": 2\n}\n".utf8)
        var error = try Self.loadError(vocabulary: vocabulary, merges: try Self.merges())
        #expect(error.code == .malformedVocabulary && error.file == "/x/vocab.json" && error.line == 3, "\(error)")
        error = try Self.loadError(
            vocabulary: Data("{\"a\": 0,\n\"b\": 1.5}".utf8), merges: try Self.merges())
        #expect(error.code == .malformedVocabulary && error.line == 2, "\(error)")
        error = try Self.loadError(
            vocabulary: Data("{\"a\": 0,\n\"b\": -1}".utf8), merges: try Self.merges())
        #expect(error.code == .malformedVocabulary && error.line == 2, "\(error)")
        error = try Self.loadError(
            vocabulary: Data("{\"a\": 0,\n\n\"a\": 1}".utf8), merges: try Self.merges())
        #expect(error.code == .malformedVocabulary && error.line == 3, "\(error)")
        error = try Self.loadError(vocabulary: Data("[1, 2]".utf8), merges: try Self.merges())
        #expect(error.code == .malformedVocabulary && error.line == 1, "\(error)")
        error = try Self.loadError(vocabulary: Data("{\"a\": \"\\ud800\"}".utf8), merges: try Self.merges())
        #expect(error.code == .malformedVocabulary, "\(error)")
    }

    @Test("vocab.json without a special token is rejected")
    func missingSpecialToken() throws {
        let text = String(decoding: try Self.vocabulary(), as: UTF8.self)
            .replacingOccurrences(of: "\"<mask>\": 4, ", with: "")
        let error = try Self.loadError(vocabulary: Data(text.utf8), merges: try Self.merges())
        #expect(error.code == .malformedVocabulary && error.message.contains("<mask>"), "\(error)")
    }

    @Test("a missing file is fileUnreadable with its path")
    func missingFile() throws {
        let missing = Fixtures.url("no-such-vocab.json")
        let error = try #require(throws: TokenizerError.self) {
            try RobertaTokenizer(vocabularyURL: missing, mergesURL: Fixtures.url("merges.txt"))
        }
        #expect(error.code == .fileUnreadable && error.file == missing.path, "\(error)")
    }

    @Test("tokenizer.json: a bad merge names tokenizer.json and its line; unsupported parts are refused")
    func tokenizerJSONErrors() throws {
        let data = try Data(contentsOf: Fixtures.url("tokenizer-legacy-merges.json"))
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.components(separatedBy: "\n")
        let mergeLine = try #require(lines.firstIndex { $0.contains("\"th e\"") }) + 1
        var error = try #require(throws: TokenizerError.self) {
            try RobertaTokenizer(
                tokenizerJSONData: Data(text.replacingOccurrences(of: "\"th e\"", with: "\"th e x\"").utf8),
                fileName: "/x/tokenizer.json")
        }
        #expect(error.code == .malformedMerges && error.file == "/x/tokenizer.json" && error.line == mergeLine, "\(error)")

        error = try #require(throws: TokenizerError.self) {
            try RobertaTokenizer(
                tokenizerJSONData: Data(text.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"WordPiece\"").utf8))
        }
        #expect(error.code == .unsupportedConfiguration, "\(error)")
        error = try #require(throws: TokenizerError.self) {
            try RobertaTokenizer(
                tokenizerJSONData: Data(text.replacingOccurrences(of: "\"normalizer\": null", with: "\"normalizer\": {\"type\": \"NFC\"}").utf8))
        }
        #expect(error.code == .unsupportedConfiguration, "\(error)")
        error = try #require(throws: TokenizerError.self) {
            try RobertaTokenizer(tokenizerJSONData: Data(text.prefix(5000).utf8), fileName: "/x/tokenizer.json")
        }
        #expect(error.code == .malformedTokenizerJSON && error.line != nil, "\(error)")
    }

    /// A `tokenizer.json` variant with `add_prefix_space: true` and seven more added tokens, built the
    /// same way in Python; the expected ids and decodes (`skip_special_tokens=True`) come from HF
    /// `tokenizers` 0.23.3 (`Tokenizer.from_str(...)`). The "id"s written in the file (2000…, 7) are
    /// deliberately wrong: `tokenizers` assigns 1000… (and 8, the vocabulary id of "$").
    @Test("tokenizer.json options: add_prefix_space, single_word, lstrip/rstrip, normalized pass, ids")
    func tokenizerJSONOptions() throws {
        let data = try Data(contentsOf: Fixtures.url("tokenizer.json"))
        var root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var pre = try #require(root["pre_tokenizer"] as? [String: Any])
        pre["add_prefix_space"] = true
        root["pre_tokenizer"] = pre
        var added = try #require(root["added_tokens"] as? [[String: Any]])
        func token(
            _ id: Int, _ content: String, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false,
            normalized: Bool = false, special: Bool = false
        ) -> [String: Any] {
            ["id": id, "content": content, "single_word": singleWord, "lstrip": lstrip, "rstrip": rstrip,
             "normalized": normalized, "special": special]
        }
        added += [
            token(2000, "dog", singleWord: true), token(2001, "<x>", rstrip: true, special: true),
            token(2002, "<x>y"), token(2003, "bc"), token(2004, "abc", normalized: true),
            token(2005, "xyz", lstrip: true, normalized: true), token(7, "$", special: true),
        ]
        root["added_tokens"] = added
        let tokenizer = try RobertaTokenizer(tokenizerJSONData: try JSONSerialization.data(withJSONObject: root))
        #expect(tokenizer.addedTokens.map(\.id) == [0, 1, 2, 3, 4, 1000, 1001, 1002, 1003, 1004, 1005, 8])
        let expected: [(String, [Int32], String)] = [
            ("dog", [0, 1000, 2], "dog"),
            ("the dog", [0, 264, 225, 1000, 2], " the dog"),
            ("hotdog dog_x dog", [0, 318, 309, 72, 83, 75, 503, 67, 92, 225, 1000, 2], " hotdog dog_x dog"),
            ("dog\u{E9} dog1 dogs", [0, 503, 460, 503, 21, 503, 87, 2], " dog\u{E9} dog1 dogs"),
            ("a<x>  b", [0, 272, 1001, 266, 2], " a b"),
            ("<x>y<x>\u{A0}z", [0, 1002, 1001, 225, 94, 2], "<x>y z"),
            ("x<mask>", [0, 225, 92, 4, 2], " x"),
            ("caf\u{E9}\u{3000}<x> dog", [0, 349, 74, 460, 164, 227, 227, 1001, 1000, 2], " caf\u{E9}\u{3000}dog"),
            ("", [0, 2], ""),
            (" dog", [0, 225, 1000, 2], " dog"),
            ("abcd", [0, 272, 1003, 286, 2], " abc d"),
            ("x abc", [0, 225, 92, 272, 1003, 2], " x abc"),
            ("a <s> xyz", [0, 272, 225, 0, 1005, 2], " a xyz"),
            ("   xyz", [0, 1005, 2], "xyz"),
            ("$5 $", [0, 8, 629, 225, 8, 2], " 5 "),
        ]
        for (text, ids, decoded) in expected {
            let got = try tokenizer.encode(text).ids
            #expect(got == ids, "\(text.debugDescription): expected \(ids), got \(got)")
            let back = tokenizer.decode(got, skipSpecialTokens: true)
            #expect(back.unicodeScalars.elementsEqual(decoded.unicodeScalars), "\(text.debugDescription) → \(back.debugDescription)")
        }
    }
}
