import Foundation
import Testing

@Suite("systemd units (systemd-analyze verify)",
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") && DaemonTestSupport.haveExecutables,
                "needs systemd-analyze (package systemd) and the built referstreamd"))
struct SystemdUnitTests {
    /// Verifies `unit` (copied with ExecStart pointing at the built daemon, since the installed path
    /// does not exist here); returns the exit status and everything systemd-analyze printed.
    func verify(_ text: String, name: String, instance: String? = nil) throws -> (status: Int32, output: String) {
        let directory = try DaemonTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let rewritten = text.replacingOccurrences(of: "/usr/local/bin/referstreamd", with: DaemonTestSupport.daemonPath)
        let file = directory.appendingPathComponent(instance.map { name.replacingOccurrences(of: "@.", with: "@\($0).") } ?? name)
        try rewritten.write(to: file, atomically: true, encoding: .utf8)
        let result = try DaemonTestSupport.run("/usr/bin/systemd-analyze", ["verify", file.path])
        return (result.status, (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("referstreamd.service and referstreamd@.service verify without a single complaint", arguments: [
        ("referstreamd.service", nil), ("referstreamd@.service", "lobby"),
    ] as [(String, String?)])
    func units(name: String, instance: String?) throws {
        let text = try String(contentsOf: DaemonTestSupport.packageRoot.appendingPathComponent("systemd/\(name)"), encoding: .utf8)
        for line in ["Type=notify", "WatchdogSec=", "Restart=on-failure", "DynamicUser=yes", "ProtectSystem=strict",
                     "NoNewPrivileges=yes", "Environment=OPENBLAS_CORETYPE="] {
            #expect(text.contains(line), "\(name) lacks \(line)")
        }
        let result = try verify(text, name: name, instance: instance)
        #expect(result.status == 0 && result.output.isEmpty, "\(name): \(result.output)")
    }

    @Test("the check is real: a misspelt key is reported")
    func negativeControl() throws {
        let result = try verify("[Service]\nTyp=notify\nExecStart=/bin/true\n", name: "typo.service")
        #expect(result.output.contains("Unknown key 'Typ'"), "\(result.output)")
    }
}
