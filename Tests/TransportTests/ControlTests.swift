import Foundation
import Testing
import TestSupport
import Transport
import WireProtocol
import ZeroMQ

/// A handler with the daemon's observable behaviour: phrases per stream, declared streams.
final class FakeHandler: ControlHandler, @unchecked Sendable {
    // Safety: all state is accessed with `lock` held.
    private let lock = NSLock()
    private var phrases: [String: PhraseInfo] = [:]
    private var order: [String] = []
    private var active: Set<String> = ["cam0"]
    private var nextID = 1
    let declared: Set<String> = ["cam0", "cam1"]

    func handle(_ command: ControlCommand) throws(WireProtocolError) -> JSONValue {
        lock.lock()
        defer { lock.unlock() }
        switch command {
        case .phraseAdd(let stream, let text, let id):
            guard active.contains(stream) else { throw WireProtocolError(.unknownStream, "no stream \(stream)") }
            let id = id ?? "p\(nextID)"
            nextID += 1
            guard phrases[id] == nil else { throw WireProtocolError(.duplicatePhrase, "phrase \(id) exists") }
            phrases[id] = PhraseInfo(id: id, stream: stream, text: text)
            order.append(id)
            return try JSONValue(encoding: phrases[id]!)
        case .phraseSet(let id, let text):
            guard var phrase = phrases[id] else { throw WireProtocolError(.unknownPhrase, "no phrase \(id)") }
            phrase.text = text
            phrases[id] = phrase
            return try JSONValue(encoding: phrase)
        case .phraseRemove(let id):
            guard let phrase = phrases.removeValue(forKey: id) else { throw WireProtocolError(.unknownPhrase, "no phrase \(id)") }
            order.removeAll { $0 == id }
            return try JSONValue(encoding: phrase)
        case .phraseList(let stream):
            if let stream, !active.contains(stream) { throw WireProtocolError(.unknownStream, "no stream \(stream)") }
            return try JSONValue(encoding: order.compactMap { phrases[$0] }.filter { stream == nil || $0.stream == stream })
        case .streamList:
            return try JSONValue(encoding: declared.sorted().map { StreamInfo(id: $0, state: active.contains($0) ? "live" : "stopped", active: active.contains($0)) })
        case .status:
            return .object(["phrases": .int(Int64(phrases.count)), "streams": .int(Int64(active.count))])
        case .streamAdd(let stream):
            guard declared.contains(stream) else { throw WireProtocolError(.streamNotDeclared, "\(stream) is not in the configuration") }
            active.insert(stream)
            return try JSONValue(encoding: StreamInfo(id: stream, state: "connecting", active: true))
        case .streamRemove(let stream):
            guard active.remove(stream) != nil else { throw WireProtocolError(.unknownStream, "no stream \(stream)") }
            return try JSONValue(encoding: StreamInfo(id: stream, state: "stopped", active: false))
        }
    }
}

func startServer(limits: ControlLimits = ControlLimits(), curve: CurveServerConfiguration? = nil, context: Context) throws -> (ControlServer, String) {
    let server = try ControlServer(context: context, configuration: .init(endpoint: "tcp://127.0.0.1:*", limits: limits, curve: curve), handler: FakeHandler())
    return (server, try server.start())
}

func result(_ response: ControlResponse) throws -> JSONValue {
    switch response.outcome {
    case .success(let value): return value
    case .failure(let error): throw TestFailure("error reply \(error)")
    }
}

func code(_ response: ControlResponse) -> String? {
    if case .failure(let error) = response.outcome { error.code.rawValue } else { nil }
}

@Suite("Control server")
struct ControlTests {
    @Test("the whole command set end to end")
    func commandSet() throws {
        let context = try Context()
        let (server, endpoint) = try startServer(context: context)
        defer { server.stop() }
        let client = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: 5000)
        let added = try result(client.send(.phraseAdd(stream: "cam0", text: "a red car", id: nil))).decode(as: PhraseInfo.self)
        #expect(added == PhraseInfo(id: "p1", stream: "cam0", text: "a red car"))
        _ = try result(client.send(.phraseAdd(stream: "cam0", text: "the dog", id: "dog")))
        let set = try result(client.send(.phraseSet(id: "p1", text: "a blue car"))).decode(as: PhraseInfo.self)
        #expect(set.text == "a blue car")
        let list = try result(client.send(.phraseList(stream: "cam0"))).decode(as: [PhraseInfo].self)
        #expect(list.map(\.id) == ["p1", "dog"])
        #expect(code(try client.send(.phraseAdd(stream: "cam0", text: "x", id: "dog"))) == "duplicate_phrase")
        _ = try result(client.send(.phraseRemove(id: "dog")))
        #expect(code(try client.send(.phraseRemove(id: "dog"))) == "unknown_phrase")
        #expect(code(try client.send(.phraseSet(id: "nope", text: "x"))) == "unknown_phrase")
        let streams = try result(client.send(.streamList)).decode(as: [StreamInfo].self)
        #expect(streams.map(\.id) == ["cam0", "cam1"])
        #expect(try result(client.send(.status))["phrases"] == .int(1))
        #expect(code(try client.send(.streamAdd(stream: "cam9"))) == "stream_not_declared")
        #expect(try result(client.send(.streamAdd(stream: "cam1")))["state"] == .string("connecting"))
        #expect(try result(client.send(.streamRemove(stream: "cam1")))["active"] == .bool(false))
        #expect(code(try client.send(.phraseList(stream: "cam1"))) == "unknown_stream")
        #expect(server.statistics.requests == 14)
    }

    @Test("each kind of bad input gets a structured error and the server keeps serving")
    func badInput() throws {
        let context = try Context()
        let limits = ControlLimits(maxMessageBytes: 1024, maxPhraseCharacters: 20) { $0.contains("🦄") ? "the tokenizer has no token for 🦄" : nil }
        let (server, endpoint) = try startServer(limits: limits, context: context)
        defer { server.stop() }
        let client = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: 5000)
        let cases: [([UInt8], String)] = [
            ([0xC3, 0x28, 0xFF], "invalid_utf8"),
            (Array("{not json".utf8), "invalid_json"),
            (Array(#"{"id":1,"command":["status"]}"#.utf8), "invalid_request"),
            (Array(#"{"id":2,"command":"phrase.explode"}"#.utf8), "unknown_command"),
            (Array(#"{"id":3,"command":"phrase.add","params":{"stream":"cam0","text":""}}"#.utf8), "phrase_empty"),
            (Array(#"{"id":4,"command":"phrase.add","params":{"stream":"cam0","text":"a very very long phrase indeed"}}"#.utf8), "phrase_too_long"),
            (Array(#"{"id":5,"command":"phrase.add","params":{"stream":"cam0","text":"a 🦄"}}"#.utf8), "phrase_rejected"),
            (Array(#"{"id":6,"command":"phrase.remove","params":{"id":"ghost"}}"#.utf8), "unknown_phrase"),
            (Array(#"{"id":7,"command":"phrase.remove","params":{}}"#.utf8), "invalid_params"),
            ([UInt8](repeating: 0x20, count: 5000), "message_too_large"),
            ([], "invalid_json"),
        ]
        for (request, expected) in cases {
            let reply = try ControlResponse(jsonBytes: client.exchange(request))
            #expect(code(reply) == expected, "\(String(decoding: request.prefix(60), as: UTF8.self)) -> \(reply)")
        }
        // A DEALER client sending two frames in one message.
        let dealer = try Socket(context, .dealer)
        try dealer.connect(endpoint)
        try dealer.send([Array(#"{"id":8,"command":"status"}"#.utf8), Array("extra".utf8)])
        let multi = try #require(try dealer.receive(timeoutMilliseconds: 5000))
        #expect(code(try ControlResponse(jsonBytes: multi[0])) == "invalid_request")
        // Far beyond the limit: libzmq (ZMQ_MAXMSGSIZE) drops that connection; the server goes on.
        let huge = try Socket(context, .dealer)
        try huge.connect(endpoint)
        try huge.send([[UInt8](repeating: 0x41, count: 1024 * 16 + 1)])
        #expect(try huge.receive(timeoutMilliseconds: 300) == nil)
        #expect(try result(client.send(.status))["phrases"] == .int(0))
    }

    @Test("deeply nested JSON is an error reply, not a stack overflow")
    func deepNesting() throws {
        let context = try Context()
        let (server, endpoint) = try startServer(context: context)
        defer { server.stop() }
        let client = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: 5000)
        let cases: [(String, String)] = [
            (String(repeating: "[", count: 600) + String(repeating: "]", count: 600), "invalid_json"),
            (#"{"id":1,"command":"status","params":{"a":"# + String(repeating: "[", count: 400) + String(repeating: "]", count: 400) + "}}", "invalid_params"),
            (String(repeating: "[", count: 60_000), "invalid_json"),
            (String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000), "invalid_json"),
        ]
        for (request, expected) in cases {
            let reply = try ControlResponse(jsonBytes: client.exchange(Array(request.utf8)))
            #expect(code(reply) == expected, "\(request.prefix(40))… -> \(reply)")
        }
    }

    @Test("several concurrent clients each get their own replies")
    func concurrentClients() throws {
        let context = try Context()
        let (server, endpoint) = try startServer(context: context)
        defer { server.stop() }
        let clients = 8, requestsEach = 40
        let failures = LockedCounter()
        let group = DispatchGroup()
        for c in 0..<clients {
            group.enter()
            Thread {
                defer { group.leave() }
                let client = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: 10_000)
                for r in 0..<requestsEach {
                    let id = "c\(c)r\(r)"
                    guard let reply = try? client.send(.phraseAdd(stream: "cam0", text: "phrase \(id)", id: id)),
                          case .success(let value) = reply.outcome, value["id"] == .string(id)
                    else { failures.increment(); continue }
                }
            }.start()
        }
        group.wait()
        #expect(failures.value == 0)
        let client = ControlClient(context: context, endpoint: endpoint)
        let list = try result(client.send(.phraseList(stream: nil))).decode(as: [PhraseInfo].self)
        #expect(list.count == clients * requestsEach)
    }

    @Test("a Python (pyzmq) client gets replies and errors across processes")
    func pythonClient() throws {
        let context = try Context()
        let (server, endpoint) = try startServer(context: context)
        defer { server.stop() }
        let python = try PythonScript("control_client.py", [endpoint])
        var replies: [JSONValue] = []
        while let line = python.readLine() {
            replies.append(try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)))
        }
        #expect(python.finish() == 0)
        try #require(replies.count == 6, "\(replies)")
        #expect(replies[0]["reply"] == .object(["id": .int(1), "ok": .bool(true), "result": .object([
            "id": .string("py1"), "stream": .string("cam0"), "text": .string("a person riding a horse")])]))
        #expect(replies[1]["reply"]?["id"] == .string("two"))
        #expect(replies[1]["reply"]?["result"] == .array([.object(["id": .string("py1"), "stream": .string("cam0"), "text": .string("a person riding a horse")])]))
        #expect(replies[2]["reply"]?["error"]?["code"] == .string("invalid_utf8"))
        #expect(replies[2]["reply"]?["id"] == .null)
        #expect(replies[3]["reply"]?["error"]?["code"] == .string("invalid_json"))
        #expect(replies[4]["reply"]?["error"]?["code"] == .string("unknown_command"))
        #expect(replies[4]["reply"]?["id"] == .int(5))
        #expect(replies[5]["reply"]?["ok"] == .bool(true))
    }

    @Test("random bytes and random JSON over the socket: always a reply, the server survives")
    func socketFuzz() throws {
        let context = try Context()
        let (server, endpoint) = try startServer(limits: ControlLimits(maxMessageBytes: 2048), context: context)
        defer { server.stop() }
        let iterations = ProcessInfo.processInfo.environment["REFERSTREAM_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 500
        let dealer = try Socket(context, .dealer)
        try dealer.connect(endpoint)
        var rng = SplitMix64(seed: 11)
        let fragments = [#"{"id":"#, #""command":"#, #""phrase.add""#, #""params":{"#, #""stream":"cam0""#, #""text":"#,
                         "}", "{", "[", "]", ",", ":", "null", "1e999", "-0", #""\ud800""#, "\"", "true", "9223372036854775808"]
        var replies = 0
        for i in 0..<iterations {
            var request: [UInt8]
            if i % 2 == 0 {
                request = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                request = Array((0..<Int.random(in: 1..<12, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }.joined().utf8)
            }
            try dealer.send([request])
            guard let reply = try dealer.receive(timeoutMilliseconds: 10_000) else { break }
            do {
                _ = try ControlResponse(jsonBytes: reply[0])
                replies += 1
            } catch {
                Issue.record("request \(String(decoding: request, as: UTF8.self)) got \(String(decoding: reply[0], as: UTF8.self))")
            }
        }
        #expect(replies == iterations)
        #expect(server.statistics.requests == UInt64(iterations))
    }

    @Test("a request to a daemon that does not answer times out after one retry instead of hanging")
    func timeout() throws {
        let context = try Context()
        // A bound ROUTER that never replies: the request is delivered but unanswered.
        let silent = try Socket(context, .router)
        try silent.bind("tcp://127.0.0.1:*")
        let client = ControlClient(context: context, endpoint: try silent.lastEndpoint(), timeoutMilliseconds: 200, retries: 1)
        do {
            _ = try client.send(.status)
            Issue.record("no reply expected")
        } catch {
            #expect(error.code == .timeout, "\(error)")
        }
        var received = 0
        while try silent.receive(timeoutMilliseconds: 100) != nil { received += 1 }
        #expect(received == 2, "the request should be sent twice (first try and one retry), got \(received)")
    }

    @Test("the control socket refuses non-local endpoints unless configured")
    func nonLocal() throws {
        let context = try Context()
        for endpoint in ["tcp://*:5560", "tcp://0.0.0.0:5560", "tcp://192.168.1.10:5560"] {
            #expect(throws: TransportError.self) {
                _ = try ControlServer(context: context, configuration: .init(endpoint: endpoint), handler: FakeHandler())
            }
        }
        #expect(EndpointPolicy.isLocal("ipc:///run/referstream/control"))
        #expect(EndpointPolicy.isLocal("tcp://127.0.0.1:5560") && EndpointPolicy.isLocal("tcp://[::1]:5560"))
        _ = try ControlServer(context: context, configuration: .init(endpoint: "tcp://*:5560", allowNonLocalEndpoint: true), handler: FakeHandler())
    }

    @Test("CURVE: allowed client keys get replies, others are refused", .enabled(if: CurveKeyPair.isAvailable))
    func curve() throws {
        let context = try Context()
        let serverKeys = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        let authenticator = try CurveAuthenticator(context: context, allowedClientKeys: [allowed.publicKey])
        try authenticator.start()
        defer { authenticator.stop() }
        let (server, endpoint) = try startServer(curve: CurveServerConfiguration(keyPair: serverKeys, allowedClientKeys: [allowed.publicKey]), context: context)
        defer { server.stop() }
        let good = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: 3000,
                                 curve: CurveClientConfiguration(serverKey: serverKeys.publicKey, keyPair: allowed))
        #expect(try result(good.send(.status))["phrases"] == .int(0))
        let bad = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: 300,
                                curve: CurveClientConfiguration(serverKey: serverKeys.publicKey, keyPair: stranger))
        #expect(throws: TransportError.self) { _ = try bad.send(.status) }
        let plain = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: 300)
        #expect(throws: TransportError.self) { _ = try plain.send(.status) }
        #expect(authenticator.counts.rejected >= 1)
    }
}

final class LockedCounter: @unchecked Sendable {
    // Safety: `count` is only accessed with `lock` held.
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

@Suite("CURVE configuration")
struct CurveConfigurationTests {
    @Test("allowed client keys without a running authenticator are refused", .enabled(if: CurveKeyPair.isAvailable))
    func needsAuthenticator() throws {
        let context = try Context()
        let keys = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
        let curve = CurveServerConfiguration(keyPair: keys, allowedClientKeys: [client.publicKey])
        let server = try ControlServer(context: context, configuration: .init(endpoint: "tcp://127.0.0.1:*", curve: curve), handler: FakeHandler())
        #expect(throws: TransportError.self) { try server.start() }
        let publisher = MaskPublisher(context: context, configuration: .init(endpoints: ["tcp://127.0.0.1:*"], curve: curve))
        #expect(throws: TransportError.self) { try publisher.start() }
        // Encryption without client authentication needs no authenticator.
        let open = try ControlServer(context: context, configuration: .init(
            endpoint: "tcp://127.0.0.1:*", curve: CurveServerConfiguration(keyPair: keys)), handler: FakeHandler())
        try open.start()
        open.stop()
    }
}
