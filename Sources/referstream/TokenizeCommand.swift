import ArgumentParser
import Foundation
import Checkpoint
import ReferFormer
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

            A phrase longer than --max-tokens is still printed, and reported on standard error. With \
            --weights, the tokenizer is checked against the model's text embedding (refused when it can \
            produce ids the embedding has no row for, a warning when the sizes differ) and the limit is \
            the model's. Put -- before phrases that start with a dash.

            Exit status: 0 every phrase fits; 1 a phrase is too long, or the tokenizer (or --weights) is \
            missing, unreadable or does not fit the model; 64 bad arguments.
            """)

    @Option(name: .customLong("tokenizer"), help: ArgumentHelp(
        "A folder with vocab.json and merges.txt (roberta-base's files) or tokenizer.json, or a tokenizer.json file.",
        valueName: "dir"))
    var tokenizerPath: String

    @Option(name: .customLong("max-tokens"), help: ArgumentHelp(
        "The most tokens (<s> and </s> included) the model accepts (default: 512, roberta-base's, or the --weights model's).",
        valueName: "n"))
    var maxTokens: Int?

    @Option(help: ArgumentHelp(
        "ReferFormer weights (.pth or .safetensors) to check the tokenizer against (vocabulary and length limit).",
        valueName: "file"))
    var weights: String?

    @Argument(help: ArgumentHelp("The phrases to tokenise.", valueName: "text"))
    var texts: [String]

    func validate() throws {
        guard (maxTokens ?? 2) >= 2 else { throw ValidationError("--max-tokens must be at least 2 (for <s> and </s>)") }
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
        var maxTokens = self.maxTokens ?? RobertaTokenizer.defaultMaximumLength
        if let weights {
            do {
                let text = try Self.textEmbedding(weights)
                let compatibility = try TokenizerCompatibility(tokenizer: tokenizer, embeddingRows: text.rows).checked()
                if let warning = compatibility.warning { printError("warning: \(warning)") }
                maxTokens = self.maxTokens ?? text.maxTokens
            } catch let error as ReferFormerError {
                printError("error: \(error.message)")
                throw ExitCode(1)
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
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

    /// The rows of the text embedding and the token limit (position rows − padding offset 2) of the
    /// weights at `path`, read from the checkpoint's header (no tensor is decoded).
    static func textEmbedding(_ path: String) throws -> (rows: Int, maxTokens: Int) {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("the weights \(path) do not exist") }
        let words = "text_encoder.embeddings.word_embeddings.weight", positions = "text_encoder.embeddings.position_embeddings.weight"
        var shapes: [String: [Int]] = [:]
        do {
            if try CheckpointFormat(contentsOf: url) == .safetensors {
                let file = try SafeTensors(contentsOf: url)
                for key in [words, positions] { shapes[key] = file[key]?.shape }
            } else {
                let file = try PyTorchCheckpoint(contentsOf: url)
                for key in [words, positions] { shapes[key] = try? file.tensor(key).shape }
            }
        } catch let error as CheckpointError where error.code == .unrecognizedFormat {
            throw CLIError("\(path) is \(error.message): give the official .pth file or a .safetensors file")
        } catch let error as CheckpointError {
            throw CLIError("cannot read the weights \(path): \(error.message)")
        }
        guard let rows = shapes[words]?.first else { throw CLIError("\(path) has no \(words): it is not a ReferFormer checkpoint") }
        // RoBERTa positions start after the padding index 1, as TextEncoderDescription.maxTokens.
        let limit = (shapes[positions]?.first).map { $0 - 2 } ?? RobertaTokenizer.defaultMaximumLength
        return (rows, limit)
    }
}

/// A failure of a model command, printed as `error: <message>`.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `value` as a JSON string literal (the project's one escaper, `StrictJSON.JSONString`).
func jsonString(_ value: String) -> String { JSONString.quoted(value) }
