import ArgumentParser
import Foundation
import StrictJSON
import Tokenizer

/// `referstream tokenize`: how the model reads a phrase (the ids `forward_text` gives the text encoder).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show how phrases are tokenised for the text encoder, and how long they are.",
        discussion: """
            Prints one JSON line per phrase: {"text": …, "ids": […], "tokens": […], "count": N}. The ids \
            are what the official ReferFormer code feeds RoBERTa (RobertaTokenizerFast on the raw phrase: \
            <s> … </s>, no lower-casing, no truncation); tokens are the vocabulary spellings (Ġ marks a \
            leading space); count includes <s> and </s>.

            A phrase longer than --max-tokens is still printed, and reported on standard error; the \
            command then exits with status 1 (also when the tokenizer files are missing or unreadable). \
            Put -- before phrases that start with a dash.
            """)

    @Option(name: .customLong("tokenizer"), help: ArgumentHelp(
        "A folder with vocab.json and merges.txt (roberta-base's files) or tokenizer.json, or a tokenizer.json file.",
        valueName: "dir"))
    var tokenizerPath: String

    @Option(name: .customLong("max-tokens"), help: ArgumentHelp(
        "The most tokens (<s> and </s> included) the model accepts.", valueName: "n"))
    var maxTokens = RobertaTokenizer.defaultMaximumLength

    @Argument(help: ArgumentHelp("The phrases to tokenise.", valueName: "text"))
    var texts: [String]

    func validate() throws {
        guard maxTokens >= 2 else { throw ValidationError("--max-tokens must be at least 2 (for <s> and </s>)") }
        guard !texts.isEmpty else { throw ValidationError("give at least one phrase to tokenise") }
    }

    func run() throws {
        let tokenizer: RobertaTokenizer
        do {
            tokenizer = try Self.loadTokenizer(tokenizerPath)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        var tooLong = 0
        for (number, text) in texts.enumerated() {
            let ids: [Int32]
            do {
                ids = try tokenizer.encode(text, maxLength: nil).ids
            } catch {
                printError("error: phrase \(number + 1): \(error)")
                tooLong += 1
                continue
            }
            let tokens = ids.map { tokenizer.token(for: $0) ?? "" }
            print(#"{"text":\#(jsonString(text)),"ids":[\#(ids.map(String.init).joined(separator: ","))],"#
                + #""tokens":[\#(tokens.map(jsonString).joined(separator: ","))],"count":\#(ids.count)}"#)
            if ids.count > maxTokens {
                printError("error: phrase \(number + 1) gives \(ids.count) tokens (with <s> and </s>), more than the "
                    + "\(maxTokens) the model accepts; shorten it: \(jsonString(String(text.prefix(60))))\(text.count > 60 ? "…" : "")")
                tooLong += 1
            }
        }
        if tooLong > 0 { throw ExitCode(1) }
    }

    /// Loads the tokenizer from a folder (vocab.json + merges.txt preferred, as the official code reads
    /// roberta-base's files, else tokenizer.json) or from a tokenizer.json file.
    static func loadTokenizer(_ path: String) throws -> RobertaTokenizer {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("the tokenizer \(path) does not exist (give a folder with vocab.json and merges.txt, or tokenizer.json)")
        }
        guard isDirectory.boolValue else { return try RobertaTokenizer(tokenizerJSON: url) }
        let vocabulary = url.appendingPathComponent("vocab.json"), merges = url.appendingPathComponent("merges.txt")
        let json = url.appendingPathComponent("tokenizer.json")
        let exists = { (file: URL) in FileManager.default.fileExists(atPath: file.path) }
        if exists(vocabulary) && exists(merges) { return try RobertaTokenizer(vocabularyURL: vocabulary, mergesURL: merges) }
        if exists(json) { return try RobertaTokenizer(tokenizerJSON: json) }
        throw CLIError("the folder \(path) has neither vocab.json + merges.txt nor tokenizer.json")
    }
}

/// A failure of a model command, printed as `error: <message>`.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `value` as a JSON string literal (the project's one escaper, `StrictJSON.JSONString`).
func jsonString(_ value: String) -> String { JSONString.quoted(value) }
