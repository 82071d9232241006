// Loading a model the way the commands and the daemon do: a configuration file, weights, and the
// token ids of a phrase for a given model.
import Foundation
import Tokenizer

extension ReferFormerConfiguration {
    /// Reads a configuration JSON document (official option names, see `CodingKeys`).
    /// - Throws: `.configuration` naming the file and what is wrong with it.
    public static func load(contentsOf url: URL) throws(ReferFormerError) -> ReferFormerConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ReferFormerError(.io, "cannot read the model configuration \(url.path): \(Self.reason(error))")
        }
        do {
            return try JSONDecoder().decode(ReferFormerConfiguration.self, from: data)
        } catch {
            throw ReferFormerError(.configuration, "the model configuration \(url.path) is not valid: \(Self.reason(error))")
        }
    }

    /// One line for a Foundation or decoding error (no structure dumps).
    static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        case DecodingError.keyNotFound(let key, _): return "the key \(key.stringValue) is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "\(path.isEmpty ? "the document" : path): \(context.debugDescription)"
        default:
            let ns = error as NSError
            if ns.domain == NSCocoaErrorDomain, let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
               underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
                return String(cString: strerror(code.rawValue))
            }
            return ns.localizedDescription
        }
    }
}

extension ReferFormerModel {
    /// Loads weights (safetensors or an official .pth) with an optional configuration file.
    public static func load(weights: URL, configurationFile: URL?) throws(ReferFormerError) -> ReferFormerModel {
        let configuration = try configurationFile.map { url throws(ReferFormerError) in try ReferFormerConfiguration.load(contentsOf: url) }
        return try load(weights: weights, configuration: configuration)
    }

    /// Token ids of `text` (`<s>` … `</s>`) for this model's text encoder.
    /// - Throws: `.input` with what to do when the phrase is empty, too long, or has ids the text
    ///   encoder's vocabulary lacks (a tokenizer that does not match the weights).
    public func tokenIDs(_ text: String, tokenizer: RobertaTokenizer) throws(ReferFormerError) -> [Int] {
        guard !text.allSatisfy(\.isWhitespace) else {
            throw ReferFormerError(.input, "the phrase is empty: give the words that name the object")
        }
        let limit = configuration.textEncoder.maxTokens
        let ids: [Int]
        do {
            ids = try tokenizer.encode(text, maxLength: limit).ids.map(Int.init)
        } catch let error as TokenizerError where error.code == .inputTooLong {
            throw ReferFormerError(.input, "the phrase is too long: it gives more than the \(limit) tokens (with <s> and </s>) the text encoder takes; shorten it")
        } catch {
            throw ReferFormerError(.input, "the phrase cannot be tokenised: \(error)")
        }
        if let bad = ids.first(where: { $0 >= configuration.textEncoder.vocabSize }) {
            throw ReferFormerError(.input, "token id \(bad) is outside the text encoder's vocabulary of \(configuration.textEncoder.vocabSize): the tokenizer does not match the weights")
        }
        return ids
    }
}
