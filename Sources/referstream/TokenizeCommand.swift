import ArgumentParser
import Foundation
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
            tokenizer = try RobertaTokenizer(directory: URL(fileURLWithPath: tokenizerPath))
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
}

/// A failure of a model command, printed as `error: <message>`.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `value` as a JSON string literal: `"` `\` and control characters escaped, everything else as UTF-8.
func jsonString(_ value: String) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
