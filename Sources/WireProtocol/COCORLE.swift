/// COCO run-length encoding, bit-compatible with pycocotools (`pycocotools.mask.encode` / `decode`,
/// i.e. `rleEncode`, `rleToString`, `rleFrString` and `rleDecode` of cocoapi's `common/maskApi.c`).
///
/// The behaviour matched:
/// - pixels are read in column-major (Fortran) order, index `x * height + y`;
/// - counts alternate runs of 0 and 1 and always start with a run of zeros, so a mask whose first pixel
///   is set starts with a count of 0; the last run is always written, so an empty `h × w` mask is `[h*w]`;
/// - the string form writes each count (from the fourth on, as the difference to the count two places
///   before it: `i > 2`, exactly as maskApi.c does) as a little-endian sequence of 5-bit groups, 6 bits
///   per character (bit 0x20 = "more follows", bit 0x10 of the last group = sign), each plus 48 so the
///   characters are ASCII '0'...'o'.
public enum COCORLE {
    /// The uncompressed counts of `mask` (pycocotools' `rleEncode`).
    ///
    /// Works from the row-major pixels without transposing: a column-major transition at `(x, y)`,
    /// `y > 0`, is a vertical change `mask[y][x] != mask[y-1][x]`, found eight pixels at a time by XOR of
    /// consecutive rows; at `y == 0` it is a change between the bottom of column `x-1` and the top of
    /// column `x`. The transitions are then counting-sorted into column-major order.
    public static func counts(of mask: BinaryMask) -> [UInt32] {
        let width = mask.width, height = mask.height
        let area = width * height
        if area == 0 { return [0] }
        // Transitions as (x, y), found row by row (y ascending), later stably sorted by x.
        var transitionX: [Int32] = []
        var transitionY: [Int32] = []
        transitionX.reserveCapacity(4 * width)
        transitionY.reserveCapacity(4 * width)
        mask.pixels.withUnsafeBytes { raw in
            let words = width / 8
            @inline(__always) func changes(_ row: Int, _ above: Int, _ offset: Int) -> UInt64 {
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: row + offset, as: UInt64.self))
                    ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: above + offset, as: UInt64.self))
            }
            for y in 1..<max(height, 1) {
                let above = (y - 1) * width, row = y * width
                var word = 0
                while word < words {
                    // Four words at a time: most rows of a mask equal the row above, so the common case
                    // is one OR of four XORs and a branch.
                    if word + 4 <= words {
                        let offset = word * 8
                        let any = changes(row, above, offset) | changes(row, above, offset + 8)
                            | changes(row, above, offset + 16) | changes(row, above, offset + 24)
                        if any == 0 {
                            word += 4
                            continue
                        }
                    }
                    let offset = word * 8
                    // Each byte is 0 or 1, so each changed pixel sets exactly bit 0 of its byte.
                    var changed = changes(row, above, offset)
                    while changed != 0 {
                        transitionX.append(Int32(offset + changed.trailingZeroBitCount / 8))
                        transitionY.append(Int32(y))
                        changed &= changed &- 1
                    }
                    word += 1
                }
                for x in (words * 8)..<width where raw[row + x] != raw[above + x] {
                    transitionX.append(Int32(x))
                    transitionY.append(Int32(y))
                }
            }
            // Column boundaries: top of column x against the bottom of column x-1.
            let bottom = (height - 1) * width
            for x in 1..<max(width, 1) where raw[x] != raw[bottom + x - 1] {
                transitionX.append(Int32(x))
                transitionY.append(0)
            }
        }
        // Counting sort by column; within a column the rows are ascending, except the y == 0 entries
        // that were appended last, which belong first: place them first.
        var perColumn = [Int](repeating: 0, count: width + 1)
        for x in transitionX { perColumn[Int(x) + 1] += 1 }
        for x in 0..<width { perColumn[x + 1] += perColumn[x] }
        var next = perColumn
        var flat = [Int](repeating: 0, count: transitionX.count)
        // First pass: the y == 0 transitions (at the end of the list), then the others in row order.
        let boundaryStart = transitionY.lastIndex(where: { $0 != 0 }).map { $0 + 1 } ?? 0
        for i in boundaryStart..<transitionX.count {
            let x = Int(transitionX[i])
            flat[next[x]] = x * height
            next[x] += 1
        }
        for i in 0..<boundaryStart {
            let x = Int(transitionX[i])
            flat[next[x]] = x * height + Int(transitionY[i])
            next[x] += 1
        }
        var counts: [UInt32] = []
        counts.reserveCapacity(flat.count + 2)
        if mask.pixels[0] != 0 { counts.append(0) }
        var previous = 0
        for index in flat {
            counts.append(UInt32(index - previous))
            previous = index
        }
        counts.append(UInt32(area - previous))
        return counts
    }

    /// The compressed string of `counts` (maskApi.c `rleToString`), as ASCII bytes.
    public static func string(fromCounts counts: [UInt32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(counts.count * 2)
        for i in counts.indices {
            var x = Int64(counts[i])
            if i > 2 { x -= Int64(counts[i - 2]) }
            var more = true
            while more {
                var c = UInt8(truncatingIfNeeded: x & 0x1f)
                x >>= 5  // arithmetic shift, as on C's signed long
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                out.append(c + 48)
            }
        }
        return out
    }

    /// The compressed COCO RLE string of `mask`: what `pycocotools.mask.encode(np.asfortranarray(m))
    /// ["counts"]` returns, as bytes.
    public static func encode(_ mask: BinaryMask) -> [UInt8] {
        string(fromCounts: counts(of: mask))
    }

    /// Parses a compressed string (maskApi.c `rleFrString`), rejecting what C would silently misread:
    /// characters outside '0'...'o', a truncated last count, counts that overflow or are negative.
    public static func counts(fromString bytes: some Collection<UInt8>) throws(WireProtocolError) -> [UInt32] {
        var counts: [UInt32] = []
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            var x: Int64 = 0
            var shift: Int64 = 0
            var c = first
            while true {
                guard c >= 48, c < 48 + 64 else {
                    throw WireProtocolError(.invalidRLE, "byte \(c) is not a COCO RLE character ('0'...'o')")
                }
                let group = Int64(c - 48)
                guard shift < 40 else { throw WireProtocolError(.invalidRLE, "a count has too many digits") }
                x |= (group & 0x1f) << shift
                shift += 5
                if group & 0x20 == 0 {
                    if group & 0x10 != 0 { x |= -1 << shift }
                    break
                }
                guard let more = iterator.next() else {
                    throw WireProtocolError(.invalidRLE, "the string ends inside a count")
                }
                c = more
            }
            if counts.count > 2 { x += Int64(counts[counts.count - 2]) }
            guard x >= 0, x <= Int64(UInt32.max) else {
                throw WireProtocolError(.invalidRLE, "count \(counts.count) is \(x), outside 0...\(UInt32.max)")
            }
            counts.append(UInt32(x))
        }
        return counts
    }

    /// The mask of `counts` (maskApi.c `rleDecode`), checking that the counts cover exactly
    /// `width × height` pixels (pycocotools does not check; a mask that does not add up is an error here).
    public static func decode(counts: [UInt32], width: Int, height: Int) throws(WireProtocolError) -> BinaryMask {
        let area = try BinaryMask.checkedArea(width: width, height: height)
        var total = 0
        for c in counts { total += Int(c) }
        guard total == area else {
            throw WireProtocolError(.invalidRLE, "the counts cover \(total) pixels, a \(width)x\(height) mask has \(area)")
        }
        var pixels = [UInt8](repeating: 0, count: area)
        var index = 0
        for (i, count) in counts.enumerated() {
            let end = index + Int(count)
            if i % 2 == 1 {
                // A run of ones over column-major indices index..<end, column segment by column segment.
                var position = index
                while position < end {
                    let x = position / height, y0 = position % height
                    let y1 = min(height, y0 + (end - position))
                    for y in y0..<y1 { pixels[y * width + x] = 1 }
                    position += y1 - y0
                }
            }
            index = end
        }
        return BinaryMask(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// Decodes a compressed string into a `width × height` mask.
    public static func decode(_ string: some Collection<UInt8>, width: Int, height: Int) throws(WireProtocolError) -> BinaryMask {
        try decode(counts: counts(fromString: string), width: width, height: height)
    }
}
