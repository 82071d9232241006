import Synchronization

/// Byte-level BPE on token ids, as HuggingFace `tokenizers`' `BPE` model merges a word:
/// start from one symbol per byte-level character (one per UTF-8 byte), then repeatedly merge the
/// adjacent pair with the lowest merge rank, the leftmost one on ties, until no adjacent pair has a
/// merge. (GPT-2's Python `bpe()`, which merges every occurrence of the best pair at once, gives the same
/// result; the slow and fast tokenizers agree on all golden cases.)
///
/// Options of the `BPE` model that are honoured: `unk_token` with `fuse_unk` (a byte whose character is
/// not in the vocabulary becomes `<unk>`, consecutive ones fused into one when `fuse_unk`; with no
/// `unk_token` it is dropped, as in `tokenizers`), and `ignore_merges` (a piece that is itself in the
/// vocabulary is taken whole). RoBERTa uses neither: its converter sets no `unk_token`.
struct BytePairModel: Sendable {
    struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    /// The id of the single-byte token of every byte, or -1 when the vocabulary lacks it.
    let byteIDs: [Int32]
    /// (left id, right id) packed as `left << 32 | right` → rank and merged id.
    let merges: [UInt64: Merge]
    let unknownID: Int32?
    let fuseUnknown: Bool
    /// Byte sequence → id for the whole vocabulary; only kept when `ignore_merges` needs it.
    let wholeTokenIDs: [[UInt8]: Int32]?

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the ids of one pre-token (its UTF-8 bytes) to `output`.
    func encode(_ piece: ArraySlice<UInt8>, into output: inout [Int32]) {
        if let wholeTokenIDs, let id = wholeTokenIDs[Array(piece)] {
            output.append(id)
            return
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(piece.count)
        var lastWasUnknown = false
        for byte in piece {
            let id = byteIDs[Int(byte)]
            if id >= 0 {
                symbols.append(id)
                lastWasUnknown = false
            } else if let unknownID {
                if !(fuseUnknown && lastWasUnknown) { symbols.append(unknownID) }
                lastWasUnknown = true
            }
        }
        if symbols.count >= 2 { mergeSymbols(&symbols) }
        output.append(contentsOf: symbols)
    }

    private func mergeSymbols(_ symbols: inout [Int32]) {
        // ranks[i] is the rank of the pair (symbols[i], symbols[i+1]), Int32.max when none.
        var ranks = [Int32](repeating: .max, count: symbols.count - 1)
        for index in 0..<ranks.count {
            ranks[index] = merges[Self.key(symbols[index], symbols[index + 1])]?.rank ?? .max
        }
        while !ranks.isEmpty {
            var best = 0
            for index in 1..<ranks.count where ranks[index] < ranks[best] { best = index }
            guard ranks[best] != .max,
                let merge = merges[Self.key(symbols[best], symbols[best + 1])]
            else { return }
            symbols[best] = merge.result
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            if best > 0 {
                ranks[best - 1] = merges[Self.key(symbols[best - 1], symbols[best])]?.rank ?? .max
            }
            if best < ranks.count {
                ranks[best] = merges[Self.key(symbols[best], symbols[best + 1])]?.rank ?? .max
            }
        }
    }
}

/// Pre-token bytes → ids, shared by all copies of a tokenizer and safe to use from any thread.
///
/// Keys are UTF-8 bytes, not `String`s: Swift compares strings by canonical equivalence, so "é" and
/// "e\u{301}" would share an entry although they tokenise differently. Like `tokenizers`' BPE cache it
/// holds a bounded number of words and stops inserting when full.
final class WordCache: Sendable {
    static let capacity = 10_000
    private let words = Mutex<[[UInt8]: [Int32]]>([:])

    func lookup(_ key: ArraySlice<UInt8>) -> [Int32]? {
        let key = Array(key)
        return words.withLock { $0[key] }
    }

    func insert(_ key: ArraySlice<UInt8>, _ ids: [Int32]) {
        let key = Array(key)
        words.withLock { words in
            if words.count < Self.capacity { words[key] = ids }
        }
    }
}
