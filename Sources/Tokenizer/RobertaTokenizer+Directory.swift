import Foundation

extension RobertaTokenizer {
    /// Loads roberta-base's files from a folder — `vocab.json` + `merges.txt` (preferred: the official
    /// code reads these) or `tokenizer.json` — or a `tokenizer.json` file given directly.
    /// - Throws: `.fileUnreadable` saying which files were looked for when none is there; the loaders'
    ///   errors otherwise.
    public init(directory url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TokenizerError(.fileUnreadable, "the tokenizer \(url.path) does not exist: give a folder with roberta-base's vocab.json and merges.txt (or tokenizer.json), or a tokenizer.json file")
        }
        guard isDirectory.boolValue else {
            try self.init(tokenizerJSON: url)
            return
        }
        let vocabulary = url.appendingPathComponent("vocab.json"), merges = url.appendingPathComponent("merges.txt")
        let json = url.appendingPathComponent("tokenizer.json")
        let exists = { (file: URL) in FileManager.default.fileExists(atPath: file.path) }
        if exists(vocabulary) && exists(merges) {
            try self.init(vocabularyURL: vocabulary, mergesURL: merges)
        } else if exists(json) {
            try self.init(tokenizerJSON: json)
        } else {
            throw TokenizerError(.fileUnreadable, "the folder \(url.path) has neither vocab.json + merges.txt nor tokenizer.json (roberta-base's tokenizer files)")
        }
    }
}
