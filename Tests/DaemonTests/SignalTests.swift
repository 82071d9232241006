import Foundation
import Testing

@Suite("referstreamd signals", .enabled(if: DaemonTestSupport.haveExecutables, "needs the built referstreamd"))
struct SignalTests {
    @Test("a second signal during the graceful shutdown exits at once (status 130)")
    func secondSignal() throws {
        let directory = try DaemonTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let control = try DaemonTestSupport.freePort()
        let daemon = try DaemonProcess(configuration: DaemonTestSupport.configuration(streams: """
              - id: pattern
                source: test
                params: {pattern: ball, live: true, width: 64, height: 48, framerate: 5}
            """, masks: try DaemonTestSupport.freePort(), control: control, http: nil), control: control, directory: directory)
        // Both signals must be pending together: stop the process, queue SIGTERM (graceful shutdown)
        // and SIGINT (the second signal), and let it run; both are delivered before the shutdown ends.
        let pid = daemon.child.process.processIdentifier
        kill(pid, SIGSTOP)
        kill(pid, SIGTERM)
        kill(pid, SIGINT)
        kill(pid, SIGCONT)
        #expect(daemon.child.waitForExit(timeout: 20) == 130)
        #expect(daemon.child.stderr.contains { $0.contains("second signal, exiting now") }, "\(daemon.child.stderr.suffix(5))")
    }
}
