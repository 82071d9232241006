import Foundation
import Testing
import TestSupport
@testable import WireProtocol

func parse(_ text: String, limits: ControlLimits = ControlLimits()) -> (RequestID?, Result<ControlCommand, WireProtocolError>) {
    let (id, result) = ControlProtocol.parse(Array(text.utf8), limits: limits)
    return (id, result)
}

func errorCode(_ result: Result<ControlCommand, WireProtocolError>) -> String? {
    if case .failure(let error) = result { return error.code.rawValue } else { return nil }
}

@Suite("Control protocol parser")
struct ControlProtocolTests {
    @Test("every command parses with its parameters", arguments: [
        (#"{"id":1,"command":"phrase.add","params":{"stream":"cam0","text":"  a red car ","id":"p1"}}"#,
         ControlCommand.phraseAdd(stream: "cam0", text: "a red car", id: "p1")),
        (#"{"id":2,"command":"phrase.add","params":{"stream":"cam0","text":"a dog"}}"#,
         ControlCommand.phraseAdd(stream: "cam0", text: "a dog", id: nil)),
        (#"{"id":3,"command":"phrase.set","params":{"id":"p1","text":"the cat"}}"#, ControlCommand.phraseSet(id: "p1", text: "the cat")),
        (#"{"id":4,"command":"phrase.remove","params":{"id":"p1"}}"#, ControlCommand.phraseRemove(id: "p1")),
        (#"{"id":5,"command":"phrase.list"}"#, ControlCommand.phraseList(stream: nil)),
        (#"{"id":6,"command":"phrase.list","params":{"stream":"cam1"}}"#, ControlCommand.phraseList(stream: "cam1")),
        (#"{"id":7,"command":"stream.list","params":{}}"#, ControlCommand.streamList),
        (#"{"id":"x","command":"status","params":null}"#, ControlCommand.status),
        (#"{"id":9,"command":"stream.add","params":{"stream":"cam2"}}"#, ControlCommand.streamAdd(stream: "cam2")),
        (#"{"id":10,"command":"stream.remove","params":{"stream":"cam2"}}"#, ControlCommand.streamRemove(stream: "cam2")),
    ])
    func commands(_ text: String, _ expected: ControlCommand) {
        let (_, result) = parse(text)
        #expect(result == .success(expected), "\(text) -> \(result)")
    }

    @Test("request ids are echoed: integers as integers, strings as strings")
    func ids() {
        #expect(parse(#"{"id":42,"command":"status"}"#).0 == .int(42))
        #expect(parse(#"{"id":"abc","command":"status"}"#).0 == .string("abc"))
        #expect(parse(#"{"command":"status"}"#).0 == nil)
        let reply = ControlProtocol.respond(to: Array(#"{"id":42,"command":"status"}"#.utf8), limits: ControlLimits()) { _ throws(WireProtocolError) in .object([:]) }
        #expect(String(decoding: reply.jsonBytes(), as: UTF8.self) == #"{"id":42,"ok":true,"result":{}}"#)
    }

    @Test("each kind of bad input gets its error code", arguments: [
        ("not json", "invalid_json"),
        ("[1,2]", "invalid_request"),
        (#"{"id":true,"command":"status"}"#, "invalid_request"),
        (#"{"id":1}"#, "invalid_request"),
        (#"{"id":1,"command":5}"#, "invalid_request"),
        (#"{"id":1,"command":"status","params":[]}"#, "invalid_request"),
        (#"{"id":1,"command":"launch.missiles"}"#, "unknown_command"),
        (#"{"id":1,"command":"phrase.add","params":{"stream":"cam0"}}"#, "invalid_params"),
        (#"{"id":1,"command":"phrase.add","params":{"stream":"cam/0","text":"x"}}"#, "invalid_params"),
        (#"{"id":1,"command":"phrase.add","params":{"stream":"cam0","text":7}}"#, "invalid_params"),
        (#"{"id":1,"command":"phrase.add","params":{"stream":"cam0","text":"x","colour":"red"}}"#, "invalid_params"),
        (#"{"id":1,"command":"phrase.add","params":{"stream":"cam0","text":"   "}}"#, "phrase_empty"),
        (#"{"id":1,"command":"phrase.set","params":{"id":"p1","text":""}}"#, "phrase_empty"),
    ])
    func badInput(_ text: String, _ code: String) {
        let (_, result) = parse(text)
        #expect(errorCode(result) == code, "\(text) -> \(result)")
    }

    @Test("invalid UTF-8 is its own error")
    func invalidUTF8() {
        let (_, result) = ControlProtocol.parse([0x7B, 0xFF, 0xFE, 0x7D], limits: ControlLimits())
        #expect(errorCode(result) == "invalid_utf8")
    }

    @Test("over-long messages and phrases, and the pluggable validator")
    func limits() {
        var limits = ControlLimits(maxMessageBytes: 100, maxPhraseCharacters: 10)
        limits.phraseValidator = { $0.contains("zebra") ? "the tokenizer cannot fit \"zebra\"" : nil }
        let long = #"{"id":1,"command":"phrase.add","params":{"stream":"cam0","text":"\#(String(repeating: "a", count: 200))"}}"#
        #expect(errorCode(parse(long, limits: limits).1) == "message_too_large")
        let phrase = #"{"id":1,"command":"phrase.add","params":{"stream":"cam0","text":"abcdefghijk"}}"#
        #expect(errorCode(parse(phrase, limits: limits).1) == "phrase_too_long")
        let ok = #"{"id":1,"command":"phrase.add","params":{"stream":"cam0","text":"abcdefghij"}}"#
        #expect(errorCode(parse(ok, limits: limits).1) == nil)
        let (_, rejected) = parse(#"{"id":1,"command":"phrase.set","params":{"id":"p","text":"a zebra"}}"#, limits: limits)
        guard case .failure(let error) = rejected else { Issue.record("accepted"); return }
        #expect(error.code == .phraseRejected && error.message.contains("zebra"), "\(error)")
    }

    @Test("handler errors become error replies with the id")
    func handlerError() throws {
        let reply = ControlProtocol.respond(to: Array(#"{"id":"r","command":"phrase.remove","params":{"id":"nope"}}"#.utf8), limits: ControlLimits()) { _ throws(WireProtocolError) in
            throw WireProtocolError(.unknownPhrase, "no phrase nope")
        }
        #expect(String(decoding: reply.jsonBytes(), as: UTF8.self) == #"{"error":{"code":"unknown_phrase","message":"no phrase nope"},"id":"r","ok":false}"#)
        #expect(try ControlResponse(jsonBytes: reply.jsonBytes()) == reply)
    }
}

/// Random bytes and random JSON at the parser: it must return (a command or an error) for every input.
/// `REFERSTREAM_FUZZ_ITERATIONS` raises the iteration count for a long run outside CI.
@Suite("Control protocol fuzz")
struct ControlFuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["REFERSTREAM_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 3000
    }

    static func randomJSON(_ rng: inout SplitMix64, depth: Int = 0) -> JSONValue {
        let keys = ["id", "command", "params", "stream", "text", "x", ""]
        let commands = ControlCommand.names + ["", "phrase", "status "]
        switch Int.random(in: 0..<(depth > 3 ? 5 : 8), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng))
        case 3: return .double(Double.random(in: -1e300...1e300, using: &rng))
        case 4: return .string(Bool.random(using: &rng) ? commands.randomElement(using: &rng)! : String(
            (0..<Int.random(in: 0..<300, using: &rng)).map { _ in Character(UnicodeScalar(UInt8.random(in: 32...126, using: &rng))) }))
        case 5: return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in randomJSON(&rng, depth: depth + 1) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<5, using: &rng) {
                object[keys.randomElement(using: &rng)!] = randomJSON(&rng, depth: depth + 1)
            }
            if depth == 0, Bool.random(using: &rng) { object["command"] = .string(commands.randomElement(using: &rng)!) }
            return .object(object)
        }
    }

    @Test("random bytes and random JSON always give a reply")
    func fuzz() throws {
        var rng = SplitMix64(seed: 2026)
        let limits = ControlLimits(maxMessageBytes: 4096, maxPhraseCharacters: 64) { $0.hasPrefix("q") ? "starts with q" : nil }
        var replies = 0
        for i in 0..<Self.iterations {
            let bytes: [UInt8]
            switch i % 3 {
            case 0: bytes = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1: bytes = Self.randomJSON(&rng).jsonBytes()
            default:
                // Valid-looking JSON with a few bytes flipped.
                var b = Self.randomJSON(&rng).jsonBytes()
                for _ in 0..<Int.random(in: 0...3, using: &rng) where !b.isEmpty {
                    b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                bytes = b
            }
            let reply = ControlProtocol.respond(to: bytes, limits: limits) { _ throws(WireProtocolError) in .null }
            let decoded = try ControlResponse(jsonBytes: reply.jsonBytes())
            #expect(decoded == reply)
            replies += 1
        }
        #expect(replies == Self.iterations)
    }
}
