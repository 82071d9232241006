import Foundation
import Tokenizer

/// Paths and loaders for `Tests/Fixtures/tokenizer/` (see its README.md for provenance).
enum Fixtures {
    /// `Tests/Fixtures/tokenizer`, found from this file's path (never an absolute path).
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TokenizerTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/tokenizer", isDirectory: true)

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// One golden case of `cases.json`: `RobertaTokenizerFast` outputs.
    struct Case: Decodable, Sendable {
        var name: String
        var group: String
        var text: String
        var input_ids: [Int32]
        var attention_mask: [Int32]
    }

    private struct CasesFile: Decodable {
        var num_cases: Int
        var cases: [Case]
    }

    /// Read with Foundation's JSONDecoder, independently of the tokenizer's own JSON reader.
    static let cases: [Case] = {
        do {
            let data = try Data(contentsOf: url("cases.json"))
            let file = try JSONDecoder().decode(CasesFile.self, from: data)
            return file.cases
        } catch {
            return []  // the parity test then fails on the case count, with this path in its message
        }
    }()

    static func vocabularyAndMerges() throws -> RobertaTokenizer {
        try RobertaTokenizer(vocabularyURL: url("vocab.json"), mergesURL: url("merges.txt"))
    }
}

