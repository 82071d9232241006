import Synchronization

/// Byte-level BPE on token ids, as HuggingFace `tokenizers`' `BPE` model merges a word:
/// start from one symbol per byte-level character (one per UTF-8 byte), then repeatedly merge the
/// adjacent pair with the lowest merge rank, the leftmost one on ties, until no adjacent pair has a
/// merge (with `tokenizers`' own priority queue and stale-entry rule, see `mergeSymbols`). GPT-2's Python
/// `bpe()`, which merges every occurrence of the best pair at once, gives the same result on ordinary
/// vocabularies; the slow and fast tokenizers agree on all golden cases.
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

    /// `tokenizers`' `Word::merge_all`, step for step: a min-heap of candidate merges ordered by rank,
    /// then by position; symbols stay in place (merged-away ones are marked dead and unlinked); a popped
    /// candidate is stale, and skipped, when its left symbol is dead or has no right neighbour, or when
    /// the current pair there no longer merges into the candidate's token. O(n log n) in the piece
    /// length, so a long run without spaces cannot stall the caller.
    private func mergeSymbols(_ symbols: inout [Int32]) {
        let count = symbols.count
        var next = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = index + 1 < count ? Int32(index + 1) : -1 }
            initialized = count
        }
        var previous = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = Int32(index - 1) }
            initialized = count
        }
        var alive = [Bool](repeating: true, count: count)
        var queue = MergeQueue()
        for index in 0..<(count - 1) {
            if let merge = merges[Self.key(symbols[index], symbols[index + 1])] {
                queue.push(.init(rank: merge.rank, position: Int32(index), result: merge.result))
            }
        }
        while let candidate = queue.pop() {
            let position = Int(candidate.position)
            guard alive[position], next[position] >= 0 else { continue }
            let right = Int(next[position])
            guard let merge = merges[Self.key(symbols[position], symbols[right])],
                merge.result == candidate.result
            else { continue }
            symbols[position] = candidate.result
            alive[right] = false
            let afterRight = next[right]
            next[position] = afterRight
            if afterRight >= 0 { previous[Int(afterRight)] = Int32(position) }
            let before = previous[position]
            if before >= 0, let merge = merges[Self.key(symbols[Int(before)], symbols[position])] {
                queue.push(.init(rank: merge.rank, position: before, result: merge.result))
            }
            if afterRight >= 0, let merge = merges[Self.key(symbols[position], symbols[Int(afterRight)])] {
                queue.push(.init(rank: merge.rank, position: Int32(position), result: merge.result))
            }
        }
        var compacted: [Int32] = []
        compacted.reserveCapacity(count)
        for index in 0..<count where alive[index] { compacted.append(symbols[index]) }
        symbols = compacted
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position), as the `Ord` of `tokenizers`' `Merge`.
private struct MergeQueue {
    struct Candidate {
        var rank: Int32
        var position: Int32
        var result: Int32

        @inline(__always)
        static func < (lhs: Candidate, rhs: Candidate) -> Bool {
            lhs.rank != rhs.rank ? lhs.rank < rhs.rank : lhs.position < rhs.position
        }
    }

    private var heap: [Candidate] = []

    mutating func push(_ candidate: Candidate) {
        heap.append(candidate)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { break }
                var smallest = left
                if left + 1 < heap.count, heap[left + 1] < heap[left] { smallest = left + 1 }
                guard heap[smallest] < heap[parent] else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
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
        guard key.count <= Self.longestCachedPiece else { return nil }
        let key = Array(key)
        return words.withLock { $0[key] }
    }

    /// Pieces longer than this are not cached (a long run without spaces would only fill memory).
    static let longestCachedPiece = 256

    func insert(_ key: ArraySlice<UInt8>, _ ids: [Int32]) {
        guard key.count <= Self.longestCachedPiece else { return }
        let key = Array(key)
        words.withLock { words in
            if words.count < Self.capacity { words[key] = ids }
        }
    }
}
