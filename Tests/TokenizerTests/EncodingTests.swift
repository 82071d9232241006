import Foundation
import Testing
import Tokenizer

@Suite("Encoding options, decoding, concurrency")
struct EncodingTests {
    static let longName = "long_600_mixed_over_512_tokens"

    static func golden(_ name: String) throws -> Fixtures.Case {
        try #require(Fixtures.cases.first { $0.name == name }, "case \(name) in cases.json")
    }

    @Test("a phrase over 512 tokens is rejected by default, with the counts in the message")
    func lengthLimitRejects() throws {
        let tokenizer = try Fixtures.vocabularyAndMerges()
        let long = try Self.golden(Self.longName)
        #expect(long.input_ids.count == 543)
        let error = try #require(throws: TokenizerError.self) { try tokenizer.encode(long.text) }
        #expect(error.code == .inputTooLong, "code \(error.code)")
        #expect(error.message.contains("543") && error.message.contains("512"), "message: \(error.message)")
        // Exactly at the limit is accepted; one below is not.
        #expect(try tokenizer.encode(long.text, maxLength: 543).ids == long.input_ids)
        #expect(throws: TokenizerError.self) { try tokenizer.encode(long.text, maxLength: 542) }
        #expect(try tokenizer.encode(long.text, maxLength: nil).ids == long.input_ids)
    }

    @Test("truncation keeps <s>, the first tokens and </s> (as truncation=True, max_length=512)")
    func truncation() throws {
        let tokenizer = try Fixtures.vocabularyAndMerges()
        let long = try Self.golden(Self.longName)
        let encoding = try tokenizer.encode(long.text, truncation: true)
        #expect(encoding.count == 512)
        #expect(encoding.ids.prefix(511).elementsEqual(long.input_ids.prefix(511)))
        #expect(encoding.ids.last == 2)
        #expect(encoding.attentionMask == [Int32](repeating: 1, count: 512))
        #expect(encoding.truncatedTokenCount == 31)
        let short = try tokenizer.encode("the dog", maxLength: 3, truncation: true)
        #expect(short.ids == [0, 262, 2], "\(short.ids)")
        let onlySpecials = try tokenizer.encode("the dog", maxLength: 2, truncation: true)
        #expect(onlySpecials.ids == [0, 2])
        let error = try #require(throws: TokenizerError.self) {
            try tokenizer.encode("the dog", maxLength: 1, truncation: true)
        }
        #expect(error.code == .invalidArgument)
        // A short phrase is never changed by the option.
        #expect(try tokenizer.encode("the dog", truncation: true).truncatedTokenCount == 0)
    }

    @Test("decode(encode(text)) gives the text back, scalar for scalar, on every golden case")
    func decodeRoundTrip() throws {
        let tokenizer = try Fixtures.vocabularyAndMerges()
        var failures: [String] = []
        for golden in Fixtures.cases where !golden.name.hasPrefix("special_literal") {
            let ids = try tokenizer.encode(golden.text, maxLength: nil).ids
            let skipped = tokenizer.decode(ids, skipSpecialTokens: true)
            let full = tokenizer.decode(ids)
            if !skipped.unicodeScalars.elementsEqual(golden.text.unicodeScalars)
                || !full.unicodeScalars.elementsEqual(("<s>" + golden.text + "</s>").unicodeScalars)
            {
                failures.append("\(golden.name): \(golden.text.debugDescription) → \(skipped.debugDescription)")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// Expected strings from HF `tokenizers` 0.23.3 (`Tokenizer.decode` on `tokenizer.json`).
    @Test("decode matches tokenizers: special tokens, lstrip, partial UTF-8, unknown ids")
    func decodeLikeTokenizers() throws {
        let tokenizer = try Fixtures.vocabularyAndMerges()
        let mask = try tokenizer.encode("a <mask> on the left").ids
        #expect(tokenizer.decode(mask) == "<s>a<mask> on the left</s>")
        #expect(tokenizer.decode(mask, skipSpecialTokens: true) == "a on the left")
        let literal = try tokenizer.encode("<s>the dog</s>").ids
        #expect(tokenizer.decode(literal) == "<s><s>the dog</s></s>")
        #expect(tokenizer.decode(literal, skipSpecialTokens: true) == "the dog")
        #expect(tokenizer.decode([368, 243]) == "\u{FFFD}")
        #expect(tokenizer.decode([368, 243, 69, 119]) == "\u{FFFD}a\u{FFFD}")
        #expect(tokenizer.decode([5000, 69]) == "a")
        #expect(try tokenizer.tokens(for: [0, 262, 503, 2]) == ["<s>", "the", "\u{120}dog", "</s>"])
        #expect(throws: TokenizerError.self) { try tokenizer.tokens(for: [5000]) }
        #expect(tokenizer.id(for: "\u{120}dog") == 503)
        #expect(tokenizer.id(for: "<mask>") == 4)
    }

    /// Expected ids from HF `tokenizers` 0.23.3 (`encode(s, add_special_tokens=False)`): "the"×1000 →
    /// 262×1000, "left"×999 → 315×999, "dog"×1000 → (72, 83, 75)×1000, "a"×n → 69×n.
    @Test("long runs without spaces are merged like tokenizers (and do not stall: O(n log n) merging)")
    func longRuns() throws {
        let tokenizer = try Fixtures.vocabularyAndMerges()
        #expect(tokenizer.contentIDs(String(repeating: "the", count: 1000)) == [Int32](repeating: 262, count: 1000))
        #expect(tokenizer.contentIDs(String(repeating: "left", count: 999)) == [Int32](repeating: 315, count: 999))
        #expect(tokenizer.contentIDs(String(repeating: "dog", count: 1000)) == [[Int32]](repeating: [72, 83, 75], count: 1000).flatMap { $0 })
        let huge = tokenizer.contentIDs(String(repeating: "a", count: 200_000))
        #expect(huge == [Int32](repeating: 69, count: 200_000))
        let error = try #require(throws: TokenizerError.self) { try tokenizer.encode(String(repeating: "the", count: 600)) }
        #expect(error.code == .inputTooLong)
    }

    @Test("a batch is padded on the right with <pad> and attention mask 0")
    func batchPadding() throws {
        let tokenizer = try Fixtures.vocabularyAndMerges()
        #expect(tokenizer.padTokenID == 1)
        let batch = try tokenizer.encode(batch: ["a", "the dog on the left"])
        #expect(batch.map(\.ids) == [[0, 69, 2, 1, 1, 1], [0, 262, 503, 303, 264, 319, 2]].map { ids in
            ids + [Int32](repeating: 1, count: 7 - ids.count)
        })
        #expect(batch.map(\.attentionMask) == [[1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1]])
    }

    @Test("encode from many threads at once gives the golden ids (shared word cache)")
    func concurrentEncode() async throws {
        let tokenizer = try Fixtures.vocabularyAndMerges()
        let cases = Fixtures.cases
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var bad = 0
                    for round in 0..<3 {
                        for (index, golden) in cases.enumerated() where (index + worker + round) % 2 == 0 {
                            if try tokenizer.encode(golden.text, maxLength: nil).ids != golden.input_ids { bad += 1 }
                        }
                    }
                    return bad
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
