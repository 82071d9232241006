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
