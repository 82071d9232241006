import Foundation
import Testing

@Suite("referstreamd rejects invalid configurations before anything starts",
       .enabled(if: DaemonTestSupport.haveExecutables, "needs the built referstreamd (swift build --build-tests)"))
struct InvalidConfigurationTests {
    /// Runs `referstreamd MODE FILE` on `yaml`; returns the exit status and standard error.
    func run(_ yaml: String, mode: String = "--check-config") throws -> (status: Int32, stderr: String, stdout: String) {
        let directory = try DaemonTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bad.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try DaemonTestSupport.run(DaemonTestSupport.daemonPath, [mode, path])
        return (result.status, result.stderr, "\(result.stdout)")
    }

    static let model = "model:\n  weights: \(DaemonTestSupport.tinyWeights)\n  tokenizer: \(DaemonTestSupport.tokenizer)\n"

    @Test("one clear message with the key and line, exit status 2", arguments: [
        ("unknown key", "model:\n  wieghts: /x.safetensors\n", "bad.yaml:2: model.wieghts: unknown key 'wieghts'"),
        ("wrong type", "model:\n  threads: lots\n", "bad.yaml:2: model.threads: must be a whole number"),
        ("missing weights", "model:\n  weights: /nonexistent/w.safetensors\n", "bad.yaml:2: model.weights: the weights file /nonexistent/w.safetensors does not exist"),
        ("unreadable tokenizer", "model:\n  weights: \(DaemonTestSupport.tinyWeights)\n  tokenizer: /nonexistent/tok\n",
         "bad.yaml:3: model.tokenizer: cannot load the tokenizer from /nonexistent/tok"),
        ("unknown template", InvalidConfigurationTests.model + "streams:\n  - id: cam0\n    source: webcam\n",
         "bad.yaml:6: streams[0].source: unknown source template 'webcam'"),
    ])
    func invalid(name: String, yaml: String, message: String) throws {
        let result = try run(yaml)
        #expect(result.status == 2, "\(name): exit status \(result.status)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(name): \(result.stderr)")
        #expect(result.stderr.hasPrefix("referstreamd: error: ") && result.stderr.contains(message), "\(name): \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("a port in use: --check-config and --config both refuse, naming the key and line")
    func portInUse() throws {
        // A listening socket holds the port, as another daemon would.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(ok)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let free = try DaemonTestSupport.freePort()
        let metricsBusy = Self.model + "transport:\n  control: tcp://127.0.0.1:\(free)\n  masks: tcp://127.0.0.1:\(try DaemonTestSupport.freePort())\nmetrics:\n  listen: 127.0.0.1:\(port)\n"
        for mode in ["--check-config", "--config"] {
            let result = try run(metricsBusy, mode: mode)
            #expect(result.status == 2, "\(mode): \(result.stderr)")
            #expect(result.stderr.contains("bad.yaml:8: metrics.listen: 127.0.0.1:\(port): the port is in use"), "\(mode): \(result.stderr)")
        }
        let controlBusy = Self.model + "transport:\n  control: tcp://127.0.0.1:\(port)\n  masks: tcp://127.0.0.1:\(free)\n"
        let checked = try run(controlBusy)
        #expect(checked.status == 2 && checked.stderr.contains("bad.yaml:5: transport.control:"), "\(checked.stderr)")
        let started = try run(controlBusy, mode: "--config")
        #expect(started.status == 2 && started.stderr.contains("bad.yaml:5: transport.control:") && started.stderr.contains("another endpoint"), "\(started.stderr)")
        #expect(!started.stderr.contains("ready:"))
    }

    @Test("a valid configuration: --check-config prints the plan and exits 0")
    func valid() throws {
        let clip = "/nonexistent-but-not-opened.mp4"
        let yaml = Self.model + "transport:\n  control: tcp://127.0.0.1:\(try DaemonTestSupport.freePort())\n  masks: tcp://127.0.0.1:\(try DaemonTestSupport.freePort())\n"
            + "streams:\n  - id: cam0\n    source: file\n    params: {location: \(clip)}\n    phrases: [\"the ball\"]\n"
        let result = try run(yaml)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("is valid") && result.stdout.contains("cam0: file '\(clip)'") && result.stdout.contains("phrase p1: \"the ball\""), "\(result.stdout)")
        #expect(result.stdout.contains("uridecodebin uri=\"file://\(clip)\""), "\(result.stdout)")
    }

    @Test("no model.weights: the bundled demo model (the source checkout's models/demo) at the size it was trained at, unless model.shorter_side")
    func bundledModel() throws {
        let demo = DaemonTestSupport.packageRoot.appendingPathComponent("models/demo")
        let note = try #require((try JSONSerialization.jsonObject(with: Data(contentsOf: demo.appendingPathComponent("config.json"))) as? [String: Any])?["training"] as? [String: Any])
        let side = min(try #require(note["input_height"] as? Int), try #require(note["input_width"] as? Int))
        let transport = "transport:\n  control: tcp://127.0.0.1:\(try DaemonTestSupport.freePort())\n  masks: tcp://127.0.0.1:\(try DaemonTestSupport.freePort())\nmetrics:\n  listen: ~\n"
        let plain = try run("model:\n  threads: 1\n" + transport)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.contains("  weights:   \(demo.appendingPathComponent("weights.safetensors").path)"), "\(plain.stdout)")
        #expect(plain.stdout.contains("  tokenizer: \(demo.path)"), "\(plain.stdout)")
        #expect(plain.stdout.contains("(no model.weights: the bundled model (source checkout))"), "\(plain.stdout)")
        #expect(plain.stdout.contains("  input:     shorter side \(side) px (the size the model was trained at)"), "\(plain.stdout)")
        let given = try run("model:\n  threads: 1\n  shorter_side: 64\n" + transport)
        #expect(given.status == 0 && given.stdout.contains("  input:     shorter side 64 px (model.shorter_side)"), "\(given.stdout)\n\(given.stderr)")
        // Explicit weights without a configuration file: the official default.
        let tiny = try run(Self.model + transport)
        #expect(tiny.status == 0 && tiny.stdout.contains("  input:     shorter side 360 px (the official default)") && !tiny.stdout.contains("bundled"),
                "\(tiny.stdout)\n\(tiny.stderr)")
    }
}
