import StrictJSON

/// Parsing of `vocab.json`, `merges.txt` and `tokenizer.json` into the pieces of a tokenizer, with
/// errors that name the file and line.
struct VocabularyLoader {
    /// Token spelling → id, keyed by the token's exact UTF-8 bytes (not by `String`, whose equality is
    /// canonical equivalence).
    var idsByToken: [[UInt8]: Int32] = [:]
    /// id → token spelling (first spelling when a vocabulary repeats an id).
    var tokensByID: [Int32: String] = [:]
    /// Merge pairs in rank order.
    var merges: [(left: String, right: String, line: Int)] = []

    // MARK: vocab.json

    /// Reads a JSON object of token → id.
    mutating func readVocabulary(_ node: JSONNode, file: String) throws {
        guard case .object(let members) = node.value else {
            throw TokenizerError(
                .malformedVocabulary, "the vocabulary must be a JSON object of token → id, found \(node.typeName)",
                file: file, line: node.line)
        }
        for member in members {
            let token = member.key, value = member.value
            guard let id = value.intValue, id >= 0, id <= Int(Int32.max) else {
                throw TokenizerError(
                    .malformedVocabulary,
                    "the id of token \(Self.quoted(token)) must be an integer in 0...\(Int32.max), found \(value.typeName)",
                    file: file, line: value.line)
            }
            try addToken(token, id: Int32(id), file: file, line: value.line)
        }
        guard !idsByToken.isEmpty else {
            throw TokenizerError(.malformedVocabulary, "the vocabulary is empty", file: file, line: node.line)
        }
    }

    mutating func addToken(_ token: String, id: Int32, file: String, line: Int) throws {
        let key = Array(token.utf8)
        guard idsByToken[key] == nil else {
            throw TokenizerError(
                .malformedVocabulary, "token \(Self.quoted(token)) appears twice", file: file, line: line)
        }
        idsByToken[key] = id
        if tokensByID[id] == nil { tokensByID[id] = token }
    }

    // MARK: merges.txt

    /// Reads `merges.txt`: an optional `#version` first line, then one `left right` pair per line
    /// (rank = order); trailing empty lines are ignored.
    mutating func readMergesText(_ bytes: [UInt8], file: String) throws {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        while let last = lines.last, last.isEmpty || last == [UInt8(ascii: "\r")] { lines.removeLast() }
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            var lineBytes = rawLine
            if lineBytes.last == UInt8(ascii: "\r") { lineBytes = lineBytes.dropLast() }
            guard let line = String(validating: lineBytes, as: UTF8.self) else {
                throw TokenizerError(.malformedMerges, "the line is not valid UTF-8", file: file, line: lineNumber)
            }
            if lineNumber == 1 && line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(
                    .malformedMerges,
                    "expected two tokens separated by one space (a merge such as \"Ġ t\"), found \(Self.quoted(line))",
                    file: file, line: lineNumber)
            }
            merges.append((String(parts[0]), String(parts[1]), lineNumber))
        }
    }

    /// Reads `model.merges` of a `tokenizer.json`: strings `"left right"` (written by `tokenizers`
    /// < 0.20) or two-element arrays `["left", "right"]` (written since).
    mutating func readMergesJSON(_ node: JSONNode, file: String) throws {
        guard case .array(let elements) = node.value else {
            throw TokenizerError(
                .malformedMerges, "model.merges must be an array, found \(node.typeName)", file: file, line: node.line)
        }
        for element in elements {
            switch element.value {
            case .string(let text):
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw TokenizerError(
                        .malformedMerges, "expected \"left right\" (two tokens, one space), found \(Self.quoted(text))",
                        file: file, line: element.line)
                }
                merges.append((String(parts[0]), String(parts[1]), element.line))
            case .array(let pair):
                guard pair.count == 2, let left = pair[0].stringValue, let right = pair[1].stringValue else {
                    throw TokenizerError(
                        .malformedMerges, "expected a pair of two strings [\"left\", \"right\"]",
                        file: file, line: element.line)
                }
                merges.append((left, right, element.line))
            default:
                throw TokenizerError(
                    .malformedMerges, "a merge must be a string or a pair of strings, found \(element.typeName)",
                    file: file, line: element.line)
            }
        }
    }

    // MARK: Building the model

    /// Resolves merges to ids (every part and the merged token must be in the vocabulary, as
    /// `tokenizers` requires) and the byte alphabet.
    func makeModel(
        mergesFile: String, unknownToken: String?, fuseUnknown: Bool, ignoreMerges: Bool
    ) throws -> BytePairModel {
        var table: [UInt64: BytePairModel.Merge] = [:]
        table.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            guard let left = idsByToken[Array(merge.left.utf8)] else {
                throw TokenizerError(
                    .malformedMerges, "token \(Self.quoted(merge.left)) of this merge is not in the vocabulary",
                    file: mergesFile, line: merge.line)
            }
            guard let right = idsByToken[Array(merge.right.utf8)] else {
                throw TokenizerError(
                    .malformedMerges, "token \(Self.quoted(merge.right)) of this merge is not in the vocabulary",
                    file: mergesFile, line: merge.line)
            }
            guard let result = idsByToken[Array(merge.left.utf8) + Array(merge.right.utf8)] else {
                throw TokenizerError(
                    .malformedMerges,
                    "the merged token \(Self.quoted(merge.left + merge.right)) is not in the vocabulary",
                    file: mergesFile, line: merge.line)
            }
            // A repeated merge keeps its first rank (transformers' slow → fast conversion dedups this way).
            let key = BytePairModel.key(left, right)
            if table[key] == nil { table[key] = .init(rank: Int32(rank), result: result) }
        }
        let byteIDs: [Int32] = (0..<256).map { byte in
            idsByToken[Array(String(ByteLevel.scalarForByte[byte]).utf8)] ?? -1
        }
        var unknownID: Int32?
        if let unknownToken {
            guard let id = idsByToken[Array(unknownToken.utf8)] else {
                throw TokenizerError(
                    .malformedVocabulary, "the unknown token \(Self.quoted(unknownToken)) is not in the vocabulary")
            }
            unknownID = id
        }
        var wholeTokenIDs: [[UInt8]: Int32]?
        if ignoreMerges {
            var whole: [[UInt8]: Int32] = [:]
            for (spelling, id) in idsByToken {
                if let bytes = String(validating: spelling, as: UTF8.self).flatMap(ByteLevel.bytes(forToken:)) {
                    whole[bytes] = id
                }
            }
            wholeTokenIDs = whole
        }
        return BytePairModel(
            byteIDs: byteIDs, merges: table, unknownID: unknownID, fuseUnknown: fuseUnknown,
            wholeTokenIDs: wholeTokenIDs)
    }

    func id(of token: String) -> Int32? { idsByToken[Array(token.utf8)] }

    static func quoted(_ text: String) -> String {
        "\"" + text.unicodeScalars.map { $0.escaped(asASCII: false) }.joined() + "\""
    }
}
