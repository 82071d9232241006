import Foundation
import TestSupport
import Testing

/// `referstream tokenize` against the golden tokenizer fixture (Tests/Fixtures/tokenizer/): the ids of
/// `cases.json` (RobertaTokenizerFast, transformers 4.49 / tokenizers 0.21.4) and the spellings of
/// `vocab.json`, both independent of the Swift tokenizer.
@Suite("referstream tokenize", .serialized)
struct TokenizeCommandTests {
    struct Case: Decodable {
        var name: String
        var text: String
        var input_ids: [Int]
    }

    static func cases() throws -> [Case] {
        struct File: Decodable { var cases: [Case] }
        let data = try Data(contentsOf: fixture("tokenizer/cases.json"))
        return try JSONDecoder().decode(File.self, from: data).cases
    }

    /// id → vocabulary spelling, from vocab.json.
    static func spellings() throws -> [Int: String] {
        let data = try Data(contentsOf: fixture("tokenizer/vocab.json"))
        let vocabulary = try JSONDecoder().decode([String: Int].self, from: data)
        return Dictionary(uniqueKeysWithValues: vocabulary.map { ($0.value, $0.key) })
    }

    @Test("exact output for a phrase: one JSON line with text, ids, tokens, count")
    func exactLine() throws {
        let result = try runReferstream(["tokenize", "--tokenizer", fixture("tokenizer").path,
                                         "that young fish that is moving away -", "a \"b\"\t\\"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.isEmpty, "\(result)")
        // Ids of this generated case in cases.json; spellings from vocab.json.
        let expected = #"""
            {"text":"that young fish that is moving away -","ids":[0,282,488,987,995,299,304,526,774,311,2],"tokens":["<s>","that","Ġy","oung","Ġfish","Ġthat","Ġis","Ġmoving","Ġaway","Ġ-","</s>"],"count":11}

            """#
        #expect(result.stdout.hasPrefix(expected), "\(result.stdout)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(lines)")
        // The second line escapes the quote, tab and backslash and still parses back to the text.
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(second?["text"] as? String == "a \"b\"\t\\", "\(lines[1])")
    }

    @Test("every golden case (ids, spellings, count), the 543-token case reported with exit status 1")
    func goldenCases() throws {
        let cases = try Self.cases().filter { !$0.text.contains("\u{0}") }  // argv cannot carry NUL
        let spellings = try Self.spellings()
        // In batches, so that each run has a manageable argument list.
        var checked = 0
        for start in stride(from: 0, to: cases.count, by: 60) {
            let batch = Array(cases[start..<min(start + 60, cases.count)])
            let result = try runReferstream(["tokenize", "--tokenizer", fixture("tokenizer").path, "--"] + batch.map(\.text))
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == batch.count, "\(lines.count) lines for \(batch.count) phrases")
            let over = batch.enumerated().filter { $0.element.input_ids.count > 512 }
            #expect(result.status == (over.isEmpty ? 0 : 1), "\(result.status) \(result.stderr)")
            for (index, _) in over {
                #expect(result.stderr.contains("phrase \(index + 1) gives 543 tokens"), "\(result.stderr)")
                #expect(result.stderr.contains("more than the 512 the model accepts"), "\(result.stderr)")
            }
            for (line, golden) in zip(lines, batch) {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
                let ids = object["ids"] as? [Int] ?? []
                #expect(object["text"] as? String == golden.text, "\(golden.name): text \(String(describing: object["text"]))")
                #expect(ids == golden.input_ids, "\(golden.name): ids \(ids), golden \(golden.input_ids)")
                #expect(object["count"] as? Int == golden.input_ids.count, "\(golden.name): count \(String(describing: object["count"]))")
                #expect(object["tokens"] as? [String] == golden.input_ids.map { spellings[$0] ?? "?" }, "\(golden.name): tokens")
                checked += 1
            }
        }
        #expect(checked == cases.count)
    }

    @Test("--max-tokens: a phrase over the limit is printed, reported, and the exit status is 1")
    func maxTokens() throws {
        let result = try runReferstream(["tokenize", "--tokenizer", fixture("tokenizer").path, "--max-tokens", "10",
                                         "the dog", "that young fish that is moving away -"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.split(separator: "\n").count == 2, "\(result)")
        #expect(result.stderr == "error: phrase 2 gives 11 tokens (with <s> and </s>), more than the 10 the model accepts; shorten it: \"that young fish that is moving away -\"\n",
                "\(result)")
    }

    @Test("tokenizer.json folders and files load; a missing or incomplete tokenizer fails with status 1")
    func tokenizerSources() throws {
        let file = fixture("tokenizer/tokenizer.json").path
        let viaJSON = try runReferstream(["tokenize", "--tokenizer", file, "that young fish that is moving away -"])
        #expect(viaJSON.status == 0 && viaJSON.stdout.contains(#""ids":[0,282,488,987,995,299,304,526,774,311,2]"#), "\(viaJSON)")

        let missing = try runReferstream(["tokenize", "--tokenizer", "/nonexistent/tokenizer", "x"])
        #expect(missing.status == 1 && missing.stdout.isEmpty, "\(missing)")
        #expect(missing.stderr.hasPrefix("error: the tokenizer /nonexistent/tokenizer does not exist"), "\(missing)")

        let empty = try temporaryDirectory("tokenize")
        defer { try? FileManager.default.removeItem(at: empty) }
        let incomplete = try runReferstream(["tokenize", "--tokenizer", empty.path, "x"])
        #expect(incomplete.status == 1 && incomplete.stderr.contains("has neither vocab.json + merges.txt nor tokenizer.json"), "\(incomplete)")

        let corrupt = empty.appendingPathComponent("tokenizer.json")
        try Data("{\"model\": 3".utf8).write(to: corrupt)
        let bad = try runReferstream(["tokenize", "--tokenizer", empty.path, "x"])
        #expect(bad.status == 1 && bad.stderr.hasPrefix("error: ") && bad.stdout.isEmpty, "\(bad)")

        let noText = try runReferstream(["tokenize", "--tokenizer", fixture("tokenizer").path])
        #expect(noText.status == 64, "\(noText)")
    }

    @Test("help of the root command and of the model commands", arguments: [["--help"], ["tokenize", "--help"], ["convert", "--help"], ["segment", "--help"], ["infer", "--help"]])
    func help(arguments: [String]) throws {
        let result = try runReferstream(arguments)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("USAGE:"), "\(result)")
        if arguments.count == 1 {
            for command in ["segment", "infer", "tokenize", "convert", "phrase", "status", "subscribe"] {
                #expect(result.stdout.contains("  \(command) "), "\(command) missing from:\n\(result.stdout)")
            }
        }
    }
}
