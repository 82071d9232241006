import Foundation
import Testing
@testable import ZeroMQ

@Suite("ZeroMQ smoke")
struct ZeroMQSmokeTests {
    @Test("PUB/SUB over tcp on 127.0.0.1 delivers a 3-part message intact")
    func pubSub() throws {
        let context = try Context()
        let publisher = try Socket(context, .pub)
        try publisher.bind("tcp://127.0.0.1:*")
        let endpoint = try publisher.lastEndpoint()
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        let subscriber = try Socket(context, .sub)
        try subscriber.subscribe(Array("masks/".utf8))
        try subscriber.connect(endpoint)

        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let message: [[UInt8]] = [Array("masks/cam0/p1".utf8), Array("{\"v\":1}".utf8), payload]
        // PUB drops messages until the subscription has propagated (the slow-joiner rule): resend
        // until one arrives, bounded.
        var received: [[UInt8]]?
        for _ in 0..<50 where received == nil {
            try publisher.send(message)
            received = try subscriber.receive(timeoutMilliseconds: 100)
        }
        #expect(received == message)
    }

    @Test("a receive with a timeout returns nil instead of hanging")
    func receiveTimeout() throws {
        let context = try Context()
        let pull = try Socket(context, .pull)
        try pull.bind("tcp://127.0.0.1:*")
        let start = ContinuousClock.now
        let result = try pull.receive(timeoutMilliseconds: 150)
        #expect(result == nil)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test("binding an occupied port is EADDRINUSE")
    func addressInUse() throws {
        let context = try Context()
        let first = try Socket(context, .pub)
        try first.bind("tcp://127.0.0.1:*")
        let second = try Socket(context, .pub)
        do {
            try second.bind(try first.lastEndpoint())
            Issue.record("second bind should fail")
        } catch {
            #expect(error.name == "EADDRINUSE", "\(error)")
        }
    }
}

@Suite("ZeroMQ extensions")
struct ZeroMQExtensionTests {
    @Test("options are set and read back")
    func options() throws {
        let socket = try Socket(try Context(), .router)
        try socket.set(.sendHighWaterMark(7))
        try socket.set(.receiveHighWaterMark(9))
        try socket.set(.maxMessageSize(4096))
        try socket.set(.routerMandatory(true))
        try socket.set(.receiveTimeout(milliseconds: 100))
        #expect(try socket.sendHighWaterMark() == 7)
        #expect(try socket.receiveHighWaterMark() == 9)
        #expect(try socket.maxMessageSize() == 4096)
    }

    @Test("Z85 matches the ZeroMQ RFC 32 test vector")
    func z85() {
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(Z85.encode(bytes) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == bytes)
        #expect(Z85.encode([1, 2, 3]) == nil)
    }

    @Test("CURVE key pairs round-trip through Z85", .enabled(if: CurveKeyPair.isAvailable))
    func keyPair() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.z85.count == 40)
        #expect(try CurveKey(z85: pair.secretKey.z85) == pair.secretKey)
        #expect(throws: ZeroMQError.self) { try CurveKey(z85: "short") }
    }

    @Test("ROUTER sees identities and REQ delimiters, and routes replies back")
    func router() throws {
        let context = try Context()
        let router = try Socket(context, .router)
        try router.set(.routerMandatory(true))
        try router.bind("tcp://127.0.0.1:*")
        let req = try Socket(context, .req)
        try req.connect(try router.lastEndpoint())
        try req.send([Array("hi".utf8)])
        let message = try #require(try router.receiveRouted(timeoutMilliseconds: 5000))
        #expect(message.hasDelimiter && message.body == [Array("hi".utf8)])
        #expect(try router.send(routed: message.reply([Array("yo".utf8)])))
        #expect(try req.receive(timeoutMilliseconds: 5000) == [Array("yo".utf8)])
        // An unknown peer is EHOSTUNREACH with ROUTER_MANDATORY.
        do {
            try router.send(routed: RoutedMessage(identity: [9, 9, 9], hasDelimiter: false, body: [[1]]))
            Issue.record("sending to an unknown identity should fail")
        } catch {
            #expect(error.name == "EHOSTUNREACH", "\(error)")
        }
    }

    @Test("a Waker wakes a poller blocked forever on another thread")
    func waker() throws {
        let waker = try Waker()
        let done = DispatchSemaphore(value: 0)
        let result = WakeResult()
        Thread {
            // The socket and poller live on this thread only.
            guard let context = try? Context(), let pull = try? Socket(context, .pull), (try? pull.bind("inproc://w")) != nil else { return }
            let poller = Poller()
            poller.add(pull)
            let index = poller.add(waker)
            result.set((try? poller.poll(timeoutMilliseconds: -1))?[index] ?? false)
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.05)
        waker.wake()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(result.get())
    }
}

@Suite("ZeroMQ shutdown and polling")
struct ZeroMQPollTests {
    @Test("zmq_ctx_shutdown makes a receive blocked forever on another thread fail with ETERM")
    func contextShutdown() throws {
        let context = try Context()
        let done = DispatchSemaphore(value: 0)
        let result = ErrorName()
        Thread {
            do throws(ZeroMQError) {
                let pull = try Socket(context, .pull)
                try pull.bind("inproc://blocked")
                _ = try pull.receive(timeoutMilliseconds: -1)
            } catch {
                result.set(error.name)
            }
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.05)
        context.shutdown()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(result.get() == "ETERM")
    }

    @Test("a poller reports which of several sockets is readable")
    func severalSockets() throws {
        let context = try Context()
        let a = try Socket(context, .pull), b = try Socket(context, .pull)
        try a.bind("inproc://a")
        try b.bind("inproc://b")
        let pushB = try Socket(context, .push)
        try pushB.connect("inproc://b")
        let poller = Poller()
        poller.add(a)
        poller.add(b)
        #expect(try poller.poll(timeoutMilliseconds: 0) == [false, false])
        try pushB.send([[42]])
        #expect(try poller.poll(timeoutMilliseconds: 5000) == [false, true])
        #expect(try b.receive(timeoutMilliseconds: 0) == [[42]])
    }
}

final class ErrorName: @unchecked Sendable {
    // Safety: `value` is only accessed with `lock` held.
    private let lock = NSLock()
    private var value = ""
    func set(_ v: String) { lock.withLock { value = v } }
    func get() -> String { lock.withLock { value } }
}

final class WakeResult: @unchecked Sendable {
    // Safety: `value` is only accessed with `lock` held.
    private let lock = NSLock()
    private var value = false
    func set(_ v: Bool) { lock.withLock { value = v } }
    func get() -> Bool { lock.withLock { value } }
}
