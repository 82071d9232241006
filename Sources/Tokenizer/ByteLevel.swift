/// GPT-2's reversible byte ↔ Unicode mapping (`bytes_to_unicode` of GPT-2's `encoder.py`, the table of
/// HuggingFace's `ByteLevel` pre-tokenizer and decoder).
///
/// The printable bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for themselves; the other 68 bytes, in
/// increasing order, become U+0100, U+0101, … (so a space is `Ġ` U+0120 and `\n` is `Ċ` U+010A).
/// Vocabulary and merges files spell tokens in this alphabet.
public enum ByteLevel {
    /// `scalar[b]` is the character that spells byte `b`.
    public static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte)
                || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // Every value here is in U+0100…U+0143, always a valid scalar.
                table[byte] = Unicode.Scalar(next) ?? "\0"
                next += 1
            }
        }
        return table
    }()

    /// The byte a character of the byte-level alphabet stands for, or `nil` outside the alphabet.
    @inline(__always)
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = scalar.value
        switch value {
        case 0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF: return UInt8(value)
        case 0x100...0x143: return byteForExtended[Int(value - 0x100)]
        default: return nil
        }
    }

    /// Inverse of the non-printable part of the table: U+0100 + i → byte.
    private static let byteForExtended: [UInt8] = {
        var bytes = [UInt8](repeating: 0, count: 68)
        for byte in 0..<256 {
            let value = scalarForByte[byte].value
            if value >= 0x100 { bytes[Int(value - 0x100)] = UInt8(byte) }
        }
        return bytes
    }()

    /// The bytes a token spelled in the byte-level alphabet stands for, or `nil` when a character is
    /// outside the alphabet (e.g. a special token such as `<mask>` is ASCII and maps to itself).
    public static func bytes(forToken token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// Spells bytes in the byte-level alphabet.
    public static func token(forBytes bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(scalarForByte[Int(byte)]) }
        return String(scalars)
    }
}
