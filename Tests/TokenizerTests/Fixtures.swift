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

    /// `fuzz_cases.json`: 1000 seeded random strings with the ids of `tokenizers` 0.21.4.
    static let fuzzCases: [Case] = {
        struct FuzzCase: Decodable { var name: String; var text: String; var input_ids: [Int32] }
        struct FuzzFile: Decodable { var cases: [FuzzCase] }
        do {
            let data = try Data(contentsOf: url("fuzz_cases.json"))
            return try JSONDecoder().decode(FuzzFile.self, from: data).cases.map {
                Case(name: $0.name, group: "fuzz", text: $0.text, input_ids: $0.input_ids,
                     attention_mask: [Int32](repeating: 1, count: $0.input_ids.count))
            }
        } catch {
            return []
        }
    }()

    static func vocabularyAndMerges() throws -> RobertaTokenizer {
        try RobertaTokenizer(vocabularyURL: url("vocab.json"), mergesURL: url("merges.txt"))
    }
}

