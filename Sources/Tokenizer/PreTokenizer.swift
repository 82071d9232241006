/// GPT-2's pre-tokenisation, as HuggingFace's `ByteLevel` pre-tokenizer (`use_regex: true`) applies it:
/// the pattern
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// matched leftmost-first, left to right, over Unicode scalars, implemented by hand (no regex engine).
///
/// Character classes follow the Oniguruma engine that `tokenizers` compiles the pattern with (Unicode
/// 16.0 data, see `unicodeVersion`):
/// - `\p{L}`: general category L* (Lu, Ll, Lt, Lm, Lo); `\p{N}`: N* (Nd, Nl, No);
/// - `\s`: U+0009…U+000D, U+0085 and the Zs/Zl/Zp categories, which is exactly the Unicode `White_Space`
///   property (`Unicode.Scalar.Properties.isWhitespace`): NBSP and U+3000 are whitespace; U+001C…U+001F
///   (which Python's `str.isspace` accepts), ZWJ, ZWSP and U+FEFF are not.
/// - the optional leading character of ` ?…` is U+0020 only; the contractions are lower-case only.
///
/// Every scalar belongs to exactly one of letter / number / whitespace / other, so the pattern matches at
/// every position and the pieces tile the input.
enum PreTokenizer {
    enum ScalarClass: UInt8 {
        case other, letter, number, whitespace
    }

    /// The class of every ASCII scalar, precomputed.
    private static let asciiClasses: [ScalarClass] = (0..<128).map { value in
        classify(Unicode.Scalar(UInt8(value)))
    }

    /// The Unicode version of the character data the reference uses: `tokenizers` 0.21.4 (and 0.23.3)
    /// build Oniguruma 6.9.10, whose tables are Unicode 16.0. Scalars assigned later (the Swift standard
    /// library may know a newer version) are unassigned there, so they count as "other" here too.
    static let unicodeVersion = (major: 16, minor: 0)

    static func classify(_ scalar: Unicode.Scalar) -> ScalarClass {
        let properties = scalar.properties
        guard let age = properties.age,
            age.major < unicodeVersion.major
                || (age.major == unicodeVersion.major && age.minor <= unicodeVersion.minor)
        else { return .other }
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// Splits `bytes[range]` (valid UTF-8) into pre-tokens, calling `body` with each piece's byte range.
    ///
    /// - Parameters:
    ///   - scratch: reusable storage for the per-scalar classes and offsets.
    static func split(
        _ bytes: [UInt8], _ range: Range<Int>, scratch: inout Scratch, _ body: (Range<Int>) -> Void
    ) {
        // Decode once: class, first byte and start offset of every scalar.
        scratch.reset()
        var position = range.lowerBound
        while position < range.upperBound {
            let lead = bytes[position]
            let length: Int
            let scalarClass: ScalarClass
            if lead < 0x80 {
                length = 1
                scalarClass = asciiClasses[Int(lead)]
            } else {
                var value: UInt32
                if lead >= 0xF0 {
                    length = 4
                    value = UInt32(lead & 0x07)
                } else if lead >= 0xE0 {
                    length = 3
                    value = UInt32(lead & 0x0F)
                } else {
                    length = 2
                    value = UInt32(lead & 0x1F)
                }
                for offset in 1..<length {
                    value = value << 6 | UInt32(bytes[position + offset] & 0x3F)
                }
                // The bytes come from a Swift String, so they are valid UTF-8 and the value a scalar.
                scalarClass = Unicode.Scalar(value).map(classify) ?? .other
            }
            scratch.classes.append(scalarClass)
            scratch.leads.append(lead)
            scratch.offsets.append(position)
            position += length
        }
        scratch.offsets.append(range.upperBound)

        let classes = scratch.classes
        let leads = scratch.leads
        let offsets = scratch.offsets
        let count = classes.count
        // `leads[i]` equals the scalar when it is ASCII, which is all the literal checks need.
        func isASCII(_ index: Int, _ character: Unicode.Scalar) -> Bool {
            index < count && leads[index] == UInt8(ascii: character)
        }

        var index = 0
        while index < count {
            let end = matchEnd(at: index)
            body(offsets[index]..<offsets[end])
            index = end
        }

        /// The scalar index just past the piece that starts at `start`.
        func matchEnd(at start: Int) -> Int {
            // 's|'t|'re|'ve|'m|'ll|'d
            if leads[start] == UInt8(ascii: "'") {
                if isASCII(start + 1, "s") || isASCII(start + 1, "t") || isASCII(start + 1, "m")
                    || isASCII(start + 1, "d")
                {
                    return start + 2
                }
                if (isASCII(start + 1, "r") && isASCII(start + 2, "e"))
                    || (isASCII(start + 1, "v") && isASCII(start + 2, "e"))
                    || (isASCII(start + 1, "l") && isASCII(start + 2, "l"))
                {
                    return start + 3
                }
            }
            // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: with the optional space when one leads and the next
            // scalar can start a run; without it, a space (whitespace) cannot start any of the three.
            var first = start
            if leads[start] == 0x20, start + 1 < count, classes[start + 1] != .whitespace {
                first = start + 1
            }
            let runClass = classes[first]
            if runClass != .whitespace {
                var end = first + 1
                while end < count, classes[end] == runClass { end += 1 }
                return end
            }
            // `\s+(?!\S)|\s+`: a whitespace run that ends the input is taken whole; one followed by a
            // non-space gives its last scalar back (so it can lead the next word), unless it is a single
            // scalar, which the plain `\s+` then takes.
            var end = start + 1
            while end < count, classes[end] == .whitespace { end += 1 }
            if end == count || end - start == 1 { return end }
            return end - 1
        }
    }

    /// Per-call storage reused across segments of one `encode` call.
    struct Scratch {
        var classes: [ScalarClass] = []
        var leads: [UInt8] = []
        var offsets: [Int] = []

        mutating func reset() {
            classes.removeAll(keepingCapacity: true)
            leads.removeAll(keepingCapacity: true)
            offsets.removeAll(keepingCapacity: true)
        }
    }
}
