import Foundation
import StrictJSON
import Testing

@Suite("JSON reader of the tokenizer files")
struct JSONParserTests {
    static func parse(_ text: String) throws -> JSONNode {
        try JSONReader.parse(Array(text.utf8))
    }

    @Test("escapes, surrogate pairs and raw UTF-8 decode to the exact scalars; members keep file order")
    func strings() throws {
        let node = try Self.parse(#"{"\u0120the": 1, "a\"b\\c\/\t": 2, "\ud83d\udc36": 3, "é": 4, "e\u0301": 5}"#)
        guard case .object(let members) = node.value else {
            Issue.record("not an object: \(node.typeName)")
            return
        }
        let keys = members.map { $0.key.unicodeScalars.map(\.value) }
        #expect(keys == [
            [0x120, 0x74, 0x68, 0x65], [0x61, 0x22, 0x62, 0x5C, 0x63, 0x2F, 0x09], [0x1F436], [0xE9], [0x65, 0x301],
        ])
        #expect(members.map { $0.value.intValue } == [1, 2, 3, 4, 5])
        // Canonically equivalent keys stay distinct (a [String: Int] would merge them).
        #expect(node["é"]?.intValue == 4 && node["e\u{301}"]?.intValue == 5)
    }

    @Test("values carry their line; numbers, literals and nesting parse")
    func lines() throws {
        let node = try Self.parse("{\n\"a\": [1,\n -2.5e3,\n true, null],\n\n\"b\": {\"c\": false}\n}")
        #expect(node.line == 1)
        let array = try #require(node["a"])
        #expect(array.line == 2)
        guard case .array(let elements) = array.value else {
            Issue.record("a is \(array.typeName)")
            return
        }
        #expect(elements.map(\.line) == [2, 3, 4, 4])
        #expect(elements[1].doubleValue == -2500 && elements[1].intValue == nil)
        #expect(elements[2].boolValue == true && elements[3].isNull)
        #expect(node["b"]?["c"]?.boolValue == false && node["b"]?.line == 6)
    }

    @Test(
        "syntax errors give the line",
        arguments: [
            ("{\"a\": 1,\n\"b\" 2}", 2), ("{\"a\": [1, 2}", 1), ("{\"a\":\n\n\"\\ud800x\"}", 3), ("{\"a\": tru}", 1),
            ("{\"a\": \"\u{1}\"}", 1), ("[1]\n x", 2), ("", 1), ("{\"a\": 1.}", 1), ("\"\\q\"", 1),
        ] as [(String, Int)])
    func syntaxErrors(text: String, line: Int) {
        #expect(performing: { _ = try Self.parse(text) }, throws: { error in
            (error as? JSONSyntaxError)?.line == line
        })
    }

    @Test("invalid UTF-8 and excessive nesting are errors, not crashes")
    func hostileInput() {
        #expect(throws: JSONSyntaxError.self) { _ = try JSONReader.parse([0x22, 0xFF, 0x22]) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { _ = try Self.parse(deep) }
    }
}
