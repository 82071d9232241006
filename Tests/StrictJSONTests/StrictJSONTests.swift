import Foundation
import StrictJSON
import Testing

@Suite("JSONString: the one escaper")
struct JSONStringTests {
    @Test("exact output for quotes, backslashes, short escapes, other controls and DEL (Python json.dumps style)")
    func exact() {
        // Reference: json.dumps('a"b\\c\n\r\t\x01\x1f é🐶', ensure_ascii=False) == '"a\\"b\\\\c\\n\\r\\t\\u0001\\u001f é🐶"'
        #expect(JSONString.quoted("a\"b\\c\n\r\t\u{01}\u{1F} é🐶") == #""a\"b\\c\n\r\t\u0001\u001f é🐶""#)
        #expect(JSONString.quoted("\u{7F}\u{08}\u{0C}") == #""\u007f\u0008\u000c""#)
        #expect(JSONString.quoted("") == #""""#)
        var bytes = Array("x=".utf8)
        JSONString.appendQuoted("e\u{301}", to: &bytes)
        #expect(bytes == Array("x=\"e\u{301}\"".utf8))
    }

    @Test("Foundation's JSON reader (independent) reads every escaped scalar back exactly")
    func roundTripThroughFoundation() throws {
        let all = String(String.UnicodeScalarView((0..<0x250).compactMap(Unicode.Scalar.init) + ["\u{2028}", "\u{FFFF}", "\u{1F436}"]))
        let text = "[" + JSONString.quoted(all) + "]"
        let decoded = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String]
        #expect(decoded?.first.map { Array($0.unicodeScalars) } == Array(all.unicodeScalars))
        // And our own reader agrees.
        #expect(try JSONReader.parse(Array(text.utf8)).arrayValue?.first?.stringValue.map { Array($0.unicodeScalars) } == Array(all.unicodeScalars))
    }
}

@Suite("JSONReader: the one strict reader")
struct JSONReaderTests {
    static func parse(_ text: String, _ options: JSONReader.Options = .init()) throws(JSONSyntaxError) -> JSONNode {
        try JSONReader.parse(Array(text.utf8), options: options)
    }

    static func error(_ text: String, _ options: JSONReader.Options = .init()) -> JSONSyntaxError? {
        do { _ = try parse(text, options); return nil } catch { return error }
    }

    @Test("values keep their line and byte offset; integers stay apart from other numbers")
    func positions() throws {
        let node = try Self.parse("{\"a\": [1, 2.0,\n 3e0, -0, 12345678901234567890]}")
        let array = try #require(node["a"]?.arrayValue)
        #expect(array.map(\.offset) == [7, 10, 16, 21, 25])
        #expect(array.map(\.line) == [1, 1, 2, 2, 2])
        #expect(array.map(\.intValue) == [1, nil, nil, 0, nil])
        #expect(array.map(\.doubleValue) == [1, 2, 3, -0.0, 1.2345678901234567e19])
    }

    @Test("strictness: leading zeros, trailing commas, comments, NaN, single quotes, raw controls, trailing text", arguments: [
        "01", "[1,]", "{\"a\":1,}", "// x\n1", "NaN", "'a'", "\"a\u{1}\"", "1 2", "[1.]", "-", "1e", "\"\\ud800\"", "\"\\udc00\"", "{\"a\" 1}", "tru",
    ])
    func rejects(text: String) {
        #expect(Self.error(text) != nil, "\(text) was accepted")
    }

    @Test("invalid UTF-8 in a string is an error at its offset")
    func invalidUTF8() {
        #expect(throws: JSONSyntaxError.self) { _ = try JSONReader.parse([0x5B, 0x22, 0x61, 0xC3, 0x28, 0x22, 0x5D]) }
    }

    @Test("duplicate keys: kept in order by default, rejected on request; keys compare by scalars, not canonical equivalence")
    func duplicates() throws {
        let text = #"{"k": 1, "é": 2, "e\u0301": 3, "k": 4}"#
        let node = try Self.parse(text)
        #expect(node.objectValue?.map(\.key).count == 4 && node["k"]?.intValue == 1)
        let error = Self.error(text, .init(rejectsDuplicateKeys: true))
        #expect(error?.message == "duplicate key \"k\"" && error?.offset == 32, "\(String(describing: error))")
        #expect(try Self.parse(#"{"é": 2, "e\u0301": 3}"#, .init(rejectsDuplicateKeys: true)).objectValue?.count == 2)
    }

    @Test("depth limit and byte-order mark are options")
    func options() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(Self.error(deep, .init(maximumDepth: 64))?.message == "nesting deeper than 64 levels")
        #expect(try Self.parse(deep, .init(maximumDepth: 65)).arrayValue?.count == 1)
        let hostile = String(repeating: "[", count: 200_000)
        #expect(Self.error(hostile) != nil)
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("{}".utf8)
        #expect(throws: JSONSyntaxError.self) { _ = try JSONReader.parse(bom) }
        #expect(try JSONReader.parse(bom, options: .init(allowsByteOrderMark: true)).objectValue?.isEmpty == true)
    }

    @Test("every prefix and every single-byte corruption of a document either parses or throws (never traps)")
    func corruptions() {
        let document = Array(#"{"a": [1, -2.5e3, true, null, "x\u00e9\n"], "b": {"c": false}}"#.utf8)
        var parsed = 0, rejected = 0
        for end in 0..<document.count {
            if (try? JSONReader.parse(Array(document[..<end]))) != nil { parsed += 1 } else { rejected += 1 }
        }
        #expect(parsed == 0, "a strict prefix of an object is never a document")
        for index in document.indices {
            for byte: UInt8 in [0x00, 0x22, 0x2C, 0x5B, 0x5D, 0x7B, 0x7D, 0x5C, 0xFF, 0x30] {
                var copy = document
                copy[index] = byte
                if (try? JSONReader.parse(copy)) != nil { parsed += 1 } else { rejected += 1 }
            }
        }
        #expect(rejected > 0)
    }
}
