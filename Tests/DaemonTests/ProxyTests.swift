import Foundation
import Testing
import ZeroMQ

@Suite("referstream proxy (zmq_proxy XSUB/XPUB)", .enabled(if: DaemonTestSupport.haveExecutables, "needs the built referstream"))
struct ProxyTests {
    @Test("one endpoint for two publishers: messages arrive unchanged, subscriptions filter at the source")
    func forwards() throws {
        let a = try DaemonTestSupport.freePort(), b = try DaemonTestSupport.freePort(), out = try DaemonTestSupport.freePort()
        let context = try Context()
        let first = try Socket(context, .pub), second = try Socket(context, .pub)
        try first.bind("tcp://127.0.0.1:\(a)")
        try second.bind("tcp://127.0.0.1:\(b)")
        let proxy = try ChildProcess("proxy", executable: DaemonTestSupport.cliPath, arguments: [
            "proxy", "--from", "tcp://127.0.0.1:\(a)", "--from", "tcp://127.0.0.1:\(b)", "--listen", "tcp://127.0.0.1:\(out)",
        ])
        #expect(proxy.waitForLine(stderr: true, timeout: 20) { $0.contains("forwarding") } != nil, "\(proxy.stderr)")
        let subscriber = try Socket(context, .sub)
        try subscriber.subscribe(Array("masks/".utf8))
        try subscriber.connect("tcp://127.0.0.1:\(out)")

        // Subscriptions travel subscriber → proxy → publishers asynchronously: publish until both arrive.
        var topics = Set<String>()
        var received: [[[UInt8]]] = []
        let deadline = Date(timeIntervalSinceNow: 20)
        while topics.count < 2 && Date() < deadline {
            _ = try first.send([Array("masks/cam0/p1".utf8), Array("{\"seq\":1}".utf8), [1, 2, 3]], dontWait: true)
            _ = try second.send([Array("masks/cam9/p4".utf8), Array("{\"seq\":7}".utf8), [9]], dontWait: true)
            _ = try second.send([Array("status".utf8), Array("{}".utf8)], dontWait: true)
            while let message = try subscriber.receive(timeoutMilliseconds: 50) {
                received.append(message)
                topics.insert(String(decoding: message[0], as: UTF8.self))
            }
        }
        #expect(topics == ["masks/cam0/p1", "masks/cam9/p4"], "\(topics)")
        #expect(received.contains { $0 == [Array("masks/cam0/p1".utf8), Array("{\"seq\":1}".utf8), [1, 2, 3]] })
        #expect(received.contains { $0 == [Array("masks/cam9/p4".utf8), Array("{\"seq\":7}".utf8), [9]] })
        proxy.signal(SIGTERM)
        #expect(proxy.waitForExit(timeout: 10) != nil)
    }
}
