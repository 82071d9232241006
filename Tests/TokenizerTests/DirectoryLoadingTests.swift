import Foundation
import Testing
import Tokenizer

@Suite("Tokenizer from a folder")
struct DirectoryLoadingTests {
    @Test("a folder with vocab.json + merges.txt, or a tokenizer.json file, gives the same ids")
    func loads() throws {
        let fromFolder = try RobertaTokenizer(directory: Fixtures.directory)
        let fromJSON = try RobertaTokenizer(directory: Fixtures.url("tokenizer.json"))
        let reference = try Fixtures.vocabularyAndMerges()
        for text in ["the man in the red jacket on the left", "  a dog!", "Ünïcode café"] {
            let ids = try reference.encode(text).ids
            #expect(try fromFolder.encode(text).ids == ids && (try fromJSON.encode(text).ids) == ids, "\(text)")
        }
    }

    @Test("a missing path or a folder without tokenizer files says what is needed")
    func missing() throws {
        do {
            _ = try RobertaTokenizer(directory: URL(fileURLWithPath: "/nonexistent/tok"))
            Issue.record("loaded a missing folder")
        } catch let error as TokenizerError {
            #expect(error.code == .fileUnreadable && error.message.hasPrefix("the tokenizer /nonexistent/tok does not exist"))
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        do {
            _ = try RobertaTokenizer(directory: empty)
            Issue.record("loaded an empty folder")
        } catch let error as TokenizerError {
            #expect(error.message.contains("has neither vocab.json + merges.txt nor tokenizer.json"))
        }
    }
}
