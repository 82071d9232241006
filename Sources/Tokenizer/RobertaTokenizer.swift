#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StrictJSON

/// RoBERTa's byte-level BPE tokenizer, equal to HuggingFace `RobertaTokenizerFast` (transformers 4.49,
/// tokenizers 0.21) as ReferFormer calls it: `RobertaTokenizerFast(vocab_file, merges_file)` with
/// `add_prefix_space=False`, then `batch_encode_plus([text], padding="longest")`.
///
/// The pipeline, stage by stage as in `tokenizers`:
/// 1. added tokens: literal `<s>`, `<pad>`, `</s>`, `<unk>`, `<mask>` in the text are matched as those
///    tokens (leftmost-longest); `<mask>` also takes the whitespace on its left (`lstrip=True`), so
///    `"a <mask> on"` → `a`, `<mask>`, `Ġon`. No normalisation (no lower-casing, no NFC).
/// 2. pre-tokenisation of the text between them with GPT-2's pattern (see `PreTokenizer`), no prefix space;
/// 3. each piece's UTF-8 bytes spelled in the byte-level alphabet (see `ByteLevel`) and merged by rank
///    (see `BytePairModel`);
/// 4. the `RobertaProcessing` template `<s> … </s>` and an all-ones attention mask.
///
/// Character classes use Unicode 16.0, as the Oniguruma tables inside `tokenizers` 0.21 do (see
/// `PreTokenizer`). Checked against `tokenizers` on the 300 golden cases, 1000 fuzz cases in the tests,
/// and (with `tokenizer-bench`) 60 000 fuzz strings and a 50 000-token vocabulary.
///
/// Thread safety: a value is immutable except for its word cache (≤ 10 000 pieces, as `tokenizers`'),
/// which is shared by copies and guarded by a lock; `encode` may be called from any number of threads.
public struct RobertaTokenizer: Sendable {
    /// Positions of `roberta-base` (`max_position_embeddings` 514 minus the padding offset 2), which is
    /// the default limit of `encode`.
    public static let defaultMaximumLength = 512

    private let model: BytePairModel
    private let matcher: AddedTokenMatcher
    private let tokensByID: [Int32: String]
    /// Spelling (exact UTF-8) → id; added tokens take precedence, as in `tokenizers`' `token_to_id`.
    private let idsByToken: [[UInt8]: Int32]
    private let specialIDs: Set<Int32>
    private let prefixIDs: [Int32]
    private let suffixIDs: [Int32]
    private let addPrefixSpace: Bool
    private let cache = WordCache()

    /// The tokens matched literally before pre-tokenisation, in the order they were declared.
    public let addedTokens: [AddedToken]
    /// Id of `<pad>`, used to pad batches; `nil` when the vocabulary has none.
    public let padTokenID: Int32?
    /// Ids put before and after the content of every sequence (`[<s>]` and `[</s>]` for RoBERTa).
    public var specialTokenIDs: (prefix: [Int32], suffix: [Int32]) { (prefixIDs, suffixIDs) }

    // MARK: Loading

    /// Loads `vocab.json` and `merges.txt` in `roberta-base`'s format, configured as `RobertaTokenizerFast`
    /// builds itself from them: special tokens `<s>` `<pad>` `</s>` `<unk>` `<mask>` (which must be in the
    /// vocabulary), `<mask>` with `lstrip`, template `<s> $A </s>`, no unknown token in the BPE model.
    ///
    /// - Throws: `TokenizerError` naming the file (and line) that is unreadable or malformed.
    public init(vocabularyURL: URL, mergesURL: URL) throws {
        try self.init(
            vocabularyData: try Self.read(vocabularyURL), mergesData: try Self.read(mergesURL),
            vocabularyFileName: vocabularyURL.path, mergesFileName: mergesURL.path)
    }

    /// Loads the contents of `vocab.json` and `merges.txt` from memory; the file names are only used
    /// in error messages. See `init(vocabularyURL:mergesURL:)`.
    public init(
        vocabularyData: Data, mergesData: Data, vocabularyFileName: String = "vocab.json",
        mergesFileName: String = "merges.txt"
    ) throws {
        var loader = VocabularyLoader()
        try loader.readVocabulary(
            try Self.parseJSON(vocabularyData, file: vocabularyFileName, code: .malformedVocabulary),
            file: vocabularyFileName)
        try loader.readMergesText([UInt8](mergesData), file: mergesFileName)
        let model = try loader.makeModel(
            mergesFile: mergesFileName, unknownToken: nil, fuseUnknown: false, ignoreMerges: false)
        var added: [AddedToken] = []
        for (name, leftStrip) in [("<s>", false), ("<pad>", false), ("</s>", false), ("<unk>", false), ("<mask>", true)] {
            guard let id = loader.id(of: name) else {
                throw TokenizerError(
                    .malformedVocabulary, "the special token \(name) is not in the vocabulary",
                    file: vocabularyFileName)
            }
            added.append(AddedToken(content: name, id: id, leftStrip: leftStrip))
        }
        let bos = added[0].id
        let eos = added[2].id
        self.init(
            model: model, tokensByID: loader.tokensByID, idsByToken: loader.idsByToken, addedTokens: added,
            prefixIDs: [bos],
            suffixIDs: [eos], padTokenID: added[1].id, addPrefixSpace: false)
    }

    /// Loads a HuggingFace `tokenizer.json` (as `roberta-base`'s): `model` of type `BPE` with `vocab` and
    /// `merges` (strings `"a b"` or pairs `["a", "b"]`), `added_tokens` (with `lstrip`, `rstrip`,
    /// `single_word`, `special`), a `ByteLevel` pre-tokenizer (`use_regex`, `add_prefix_space` honoured),
    /// no normaliser, and a `RobertaProcessing`/`BertProcessing` post-processor (or none).
    /// `truncation` and `padding` in the file are ignored: `encode`'s arguments decide; decoding is
    /// always byte-level.
    ///
    /// - Throws: `TokenizerError` naming the file and line of what is malformed or unsupported.
    public init(tokenizerJSON url: URL) throws {
        try self.init(tokenizerJSONData: try Self.read(url), fileName: url.path)
    }

    /// Loads a `tokenizer.json` from memory; `fileName` is only used in error messages.
    public init(tokenizerJSONData data: Data, fileName: String = "tokenizer.json") throws {
        let file = fileName
        let root = try Self.parseJSON(data, file: file, code: .malformedTokenizerJSON)
        func malformed(_ message: String, _ node: JSONNode) -> TokenizerError {
            TokenizerError(.malformedTokenizerJSON, message, file: file, line: node.line)
        }
        func unsupported(_ message: String, _ node: JSONNode) -> TokenizerError {
            TokenizerError(.unsupportedConfiguration, message, file: file, line: node.line)
        }
        guard case .object = root.value else { throw malformed("the top level must be an object", root) }

        // model
        guard let modelNode = root["model"], case .object = modelNode.value else {
            throw malformed("missing \"model\" object", root)
        }
        if let type = modelNode["type"]?.stringValue, type != "BPE" {
            throw unsupported("model type \(type) is not supported (only BPE)", modelNode)
        }
        guard let vocabNode = modelNode["vocab"] else { throw malformed("missing model.vocab", modelNode) }
        guard let mergesNode = modelNode["merges"] else { throw malformed("missing model.merges", modelNode) }
        if let dropout = modelNode["dropout"], !dropout.isNull, dropout.doubleValue != 0 {
            throw unsupported("BPE dropout is not supported", dropout)
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let node = modelNode[key], !node.isNull, node.stringValue != "" {
                throw unsupported("model.\(key) is not supported (RoBERTa has none)", node)
            }
        }
        if let node = modelNode["byte_fallback"], node.boolValue == true {
            throw unsupported("model.byte_fallback is not supported", node)
        }
        var unknownToken: String?
        if let node = modelNode["unk_token"], !node.isNull {
            guard let text = node.stringValue else { throw malformed("model.unk_token must be a string", node) }
            unknownToken = text
        }
        let fuseUnknown = modelNode["fuse_unk"]?.boolValue ?? false
        let ignoreMerges = modelNode["ignore_merges"]?.boolValue ?? false

        var loader = VocabularyLoader()
        try loader.readVocabulary(vocabNode, file: file)
        try loader.readMergesJSON(mergesNode, file: file)
        let model = try loader.makeModel(
            mergesFile: file, unknownToken: unknownToken, fuseUnknown: fuseUnknown, ignoreMerges: ignoreMerges)

        // normalizer, pre_tokenizer
        if let node = root["normalizer"], !node.isNull {
            throw unsupported("normalizers are not supported (RoBERTa has none)", node)
        }
        guard let preNode = root["pre_tokenizer"], preNode["type"]?.stringValue == "ByteLevel" else {
            throw unsupported("the pre_tokenizer must be ByteLevel", root["pre_tokenizer"] ?? root)
        }
        if preNode["use_regex"]?.boolValue == false {
            throw unsupported("a ByteLevel pre_tokenizer without use_regex is not supported", preNode)
        }
        let addPrefixSpace = preNode["add_prefix_space"]?.boolValue ?? true

        // added_tokens. As `tokenizers` deserialises them (`add_tokens`), the "id" in the file is not
        // trusted: a token whose content is in the vocabulary (or was added before) keeps that id, any
        // other gets the next id after both the vocabulary size and the largest added id.
        var tokensByID = loader.tokensByID
        var added: [AddedToken] = []
        let vocabularyCount = Int32(clamping: loader.idsByToken.count)
        if let addedNode = root["added_tokens"], !addedNode.isNull {
            guard case .array(let elements) = addedNode.value else {
                throw malformed("added_tokens must be an array", addedNode)
            }
            for element in elements {
                guard let content = element["content"]?.stringValue else {
                    throw malformed("an added token needs a string \"content\"", element)
                }
                if content.isEmpty { continue }
                let id: Int32
                if let existing = added.first(where: { $0.content.utf8.elementsEqual(content.utf8) }) {
                    id = existing.id
                } else if let known = loader.id(of: content) {
                    id = known
                } else {
                    let largestAdded = added.map(\.id).max() ?? -1
                    id = largestAdded >= vocabularyCount ? largestAdded + 1 : vocabularyCount
                }
                let special = element["special"]?.boolValue ?? false
                added.append(
                    AddedToken(
                        content: content, id: id, singleWord: element["single_word"]?.boolValue ?? false,
                        leftStrip: element["lstrip"]?.boolValue ?? false,
                        rightStrip: element["rstrip"]?.boolValue ?? false, special: special,
                        normalized: element["normalized"]?.boolValue ?? !special))
                if tokensByID[id] == nil { tokensByID[id] = content }
            }
        }

        // post_processor
        var prefix: [Int32] = []
        var suffix: [Int32] = []
        if let post = root["post_processor"], !post.isNull {
            let type = post["type"]?.stringValue ?? "?"
            guard type == "RobertaProcessing" || type == "BertProcessing" else {
                throw unsupported(
                    "post_processor \(type) is not supported (RobertaProcessing or BertProcessing)", post)
            }
            func tokenID(_ key: String) throws -> Int32 {
                guard let node = post[key], case .array(let pair) = node.value, pair.count == 2,
                    let id = pair[1].intValue, id >= 0, id <= Int(Int32.max)
                else { throw malformed("post_processor.\(key) must be [token, id]", post) }
                return Int32(id)
            }
            prefix = [try tokenID("cls")]
            suffix = [try tokenID("sep")]
        }
        let pad = added.first { $0.content == "<pad>" }?.id ?? loader.id(of: "<pad>")
        self.init(
            model: model, tokensByID: tokensByID, idsByToken: loader.idsByToken, addedTokens: added,
            prefixIDs: prefix, suffixIDs: suffix,
            padTokenID: pad, addPrefixSpace: addPrefixSpace)
    }

    private init(
        model: BytePairModel, tokensByID: [Int32: String], idsByToken: [[UInt8]: Int32],
        addedTokens: [AddedToken], prefixIDs: [Int32], suffixIDs: [Int32], padTokenID: Int32?,
        addPrefixSpace: Bool
    ) {
        self.model = model
        self.tokensByID = tokensByID
        var idsByToken = idsByToken
        for token in addedTokens { idsByToken[Array(token.content.utf8)] = token.id }
        self.idsByToken = idsByToken
        self.addedTokens = addedTokens
        self.matcher = AddedTokenMatcher(addedTokens)
        self.specialIDs = Set(addedTokens.filter(\.special).map(\.id))
        self.prefixIDs = prefixIDs
        self.suffixIDs = suffixIDs
        self.padTokenID = padTokenID
        self.addPrefixSpace = addPrefixSpace
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError(
                .fileUnreadable, "cannot read the file", file: url.path, underlying: error as any Error & Sendable)
        }
    }

    private static func parseJSON(_ data: Data, file: String, code: TokenizerError.Code) throws -> JSONNode {
        do {
            // A UTF-8 byte-order mark is tolerated (Python's json.load with utf-8-sig would be stricter).
            return try JSONReader.parse([UInt8](data), options: .init(allowsByteOrderMark: true))
        } catch {
            throw TokenizerError(code, "invalid JSON: \(error.message)", file: file, line: error.line)
        }
    }

    // MARK: Encoding

    /// Encodes one phrase as `<s> … </s>` with its attention mask.
    ///
    /// - Parameters:
    ///   - maxLength: the most positions allowed, `<s>` and `</s>` included (512 for `roberta-base`);
    ///     `nil` for no limit.
    ///   - truncation: when the phrase is longer than `maxLength`, drop tokens from its end (as
    ///     `truncation=True` does) instead of throwing.
    /// - Throws: `TokenizerError` `.inputTooLong` when the phrase needs more than `maxLength` positions
    ///   and `truncation` is false; `.invalidArgument` when `maxLength` cannot even hold `<s>` and `</s>`.
    public func encode(
        _ text: String, maxLength: Int? = RobertaTokenizer.defaultMaximumLength, truncation: Bool = false
    ) throws -> Encoding {
        var ids = contentIDs(text)
        let specialCount = prefixIDs.count + suffixIDs.count
        var dropped = 0
        if let maxLength, ids.count + specialCount > maxLength {
            guard maxLength >= specialCount else {
                throw TokenizerError(
                    .invalidArgument,
                    "maxLength \(maxLength) cannot hold the \(specialCount) special tokens of a sequence")
            }
            guard truncation else {
                throw TokenizerError(
                    .inputTooLong,
                    "the phrase gives \(ids.count + specialCount) tokens (with <s> and </s>), more than the "
                        + "\(maxLength) the model accepts; shorten it, or encode with truncation: true to keep "
                        + "its first \(maxLength - specialCount) tokens")
            }
            dropped = ids.count + specialCount - maxLength
            ids.removeLast(dropped)
        }
        let all = prefixIDs + ids + suffixIDs
        return Encoding(
            ids: all, attentionMask: [Int32](repeating: 1, count: all.count), truncatedTokenCount: dropped)
    }

    /// Encodes several phrases and pads them with `<pad>` (mask 0) on the right to the longest, as
    /// `batch_encode_plus(texts, padding="longest")`.
    ///
    /// - Throws: as `encode(_:maxLength:truncation:)`; `.invalidArgument` when padding is needed and the
    ///   vocabulary has no `<pad>`.
    public func encode(
        batch texts: [String], maxLength: Int? = RobertaTokenizer.defaultMaximumLength, truncation: Bool = false
    ) throws -> [Encoding] {
        var encodings = try texts.map { try encode($0, maxLength: maxLength, truncation: truncation) }
        let longest = encodings.map(\.count).max() ?? 0
        for index in encodings.indices where encodings[index].count < longest {
            guard let padTokenID else {
                throw TokenizerError(.invalidArgument, "padding needs a <pad> token, which this vocabulary lacks")
            }
            let missing = longest - encodings[index].count
            encodings[index].ids += [Int32](repeating: padTokenID, count: missing)
            encodings[index].attentionMask += [Int32](repeating: 0, count: missing)
        }
        return encodings
    }

    /// The ids of the phrase without `<s>`/`</s>` and without any length limit.
    public func contentIDs(_ text: String) -> [Int32] {
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        ids.reserveCapacity(bytes.count / 3 + 4)
        var scratch = PreTokenizer.Scratch()
        var word: [Int32] = []
        for segment in matcher.split(bytes) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                // ByteLevel(add_prefix_space=True) prepends a space to each split not starting with one.
                var buffer = bytes
                var pieceRange = range
                if addPrefixSpace && bytes[range.lowerBound] != 0x20 {
                    buffer = [0x20] + bytes[range]
                    pieceRange = 0..<buffer.count
                }
                PreTokenizer.split(buffer, pieceRange, scratch: &scratch) { piece in
                    let pieceBytes = buffer[piece]
                    if let cached = cache.lookup(pieceBytes) {
                        ids.append(contentsOf: cached)
                        return
                    }
                    word.removeAll(keepingCapacity: true)
                    model.encode(pieceBytes, into: &word)
                    cache.insert(pieceBytes, word)
                    ids.append(contentsOf: word)
                }
            }
        }
        return ids
    }

    // MARK: Decoding

    /// Decodes ids back to text as `tokenizers`' `decode` with the `ByteLevel` decoder: tokens are
    /// concatenated, their byte-level characters turned back into bytes (a token with characters outside
    /// the alphabet contributes its own UTF-8), and the bytes read as UTF-8 with invalid sequences
    /// replaced by U+FFFD. Unknown ids are skipped. No clean-up of spaces around punctuation.
    ///
    /// - Parameter skipSpecialTokens: leave out special added tokens (`<s>`, `</s>`, `<pad>`, …).
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard let token = tokensByID[id] else { continue }
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            if let tokenBytes = ByteLevel.bytes(forToken: token) {
                bytes += tokenBytes
            } else {
                bytes += token.utf8
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One more than the highest id the tokenizer can produce (50 265 for roberta-base): the rows a
    /// text encoder's word embedding needs.
    public var idCount: Int { Int((tokensByID.keys.max() ?? -1) + 1) }

    /// The vocabulary spelling (byte-level alphabet, e.g. `Ġdog`) of an id, or `nil` if unknown.
    public func token(for id: Int32) -> String? { tokensByID[id] }

    /// The vocabulary spellings of ids.
    ///
    /// - Throws: `TokenizerError` `.invalidArgument` for an id that is not in the vocabulary.
    public func tokens(for ids: [Int32]) throws -> [String] {
        try ids.map { id in
            guard let token = tokensByID[id] else {
                throw TokenizerError(.invalidArgument, "id \(id) is not in the vocabulary")
            }
            return token
        }
    }

    /// The id of a vocabulary spelling (exact scalars), or `nil`.
    public func id(for token: String) -> Int32? { idsByToken[Array(token.utf8)] }
}
