import Foundation
import TestSupport
import Testing
import Transport
import WireProtocol
import ZeroMQ

/// Runs the built `referstream` (TestSupport's runner drains stdout and stderr concurrently).
func runReferstream(_ arguments: [String]) throws -> CommandResult {
    let binary = try #require(builtProduct("referstream"), "the referstream executable is not built next to the tests")
    return try run(binary, arguments)
}

@Suite("referstream command line", .serialized)
struct CommandLineTests {
    @Test("phrase and status commands against a control server, error replies and timeouts as exit codes")
    func phraseCommands() throws {
        let context = try Context()
        let (server, endpoint) = try startServer(context: context)
        defer { server.stop() }
        let add = try runReferstream(["phrase", "add", "--stream", "cam0", "--control", endpoint, "a red car"])
        #expect(add.status == 0 && add.stdout == "p1  cam0  \"a red car\"\n", "\(add)")
        let set = try runReferstream(["phrase", "set", "p1", "the blue car", "--control", endpoint])
        #expect(set.status == 0 && set.stdout.contains("\"the blue car\""), "\(set)")
        let list = try runReferstream(["phrase", "list", "--control", endpoint, "--json"])
        #expect(list.stdout == #"{"id":1,"ok":true,"result":[{"id":"p1","stream":"cam0","text":"the blue car"}]}"# + "\n", "\(list)")
        let missing = try runReferstream(["phrase", "remove", "ghost", "--control", endpoint])
        #expect(missing.status == 1 && missing.stderr.contains("unknown_phrase"), "\(missing)")
        let status = try runReferstream(["status", "--control", endpoint])
        #expect(status.status == 0 && status.stdout.contains("phrases: 1"), "\(status)")

        let silent = try Socket(context, .router)
        try silent.bind("tcp://127.0.0.1:*")
        let timeout = try runReferstream(["status", "--control", try silent.lastEndpoint(), "--timeout", "0.2"])
        #expect(timeout.status == 2 && timeout.stderr.contains("no reply"), "\(timeout)")
    }

    @Test("subscribe prints one line per mask and saves PNG masks and overlays")
    func subscribe() throws {
        let context = try Context()
        let publisher = MaskPublisher(context: context, configuration: .init(endpoints: ["tcp://127.0.0.1:*"], statusInterval: nil))
        let endpoint = try #require(try publisher.start().first)
        defer { publisher.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("referstream-subscribe-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let done = LockedFlag()
        let feeder = Thread {
            var mask = BinaryMask(width: 32, height: 16)
            for x in 4..<12 { mask[x, 5] = true }
            var frame: Int64 = 0
            while !done.value {
                publisher.publish(MaskFrame(stream: "cam0", phraseID: "p1", phrase: #"a "quoted" line"#, trackID: 1, frame: frame,
                                            captureTime: Date().timeIntervalSince1970, score: 0.75, box: [4, 5, 8, 1],
                                            present: true, mask: mask))
                frame += 1
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        feeder.start()
        let result = try runReferstream(["subscribe", "--masks", endpoint, "--stream", "cam0", "--phrase", "p1", "--count", "3",
                                         "--save-dir", directory.path, "--overlay", "--timeout", "20"])
        done.set()
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(result.stdout)")
        #expect(lines.first?.hasPrefix("cam0/p1 seq=") == true && lines.first?.contains("present score=0.750 box=[4,5,8,1] track=1 32x16 rle") == true,
                "\(lines.first ?? "")")
        #expect(lines.allSatisfy { $0.contains(#"B text="a \"quoted\" line""#) }, "\(lines)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        #expect(files.filter { $0.hasSuffix("_overlay.png") }.count == 3, "\(files)")
        #expect(files.count == 6, "\(files)")
        for file in files {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            #expect(Array(data.prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "\(file)")
        }
    }

    @Test("examples/subscribe.py decodes published masks")
    func pythonExample() throws {
        let context = try Context()
        let publisher = MaskPublisher(context: context, configuration: .init(endpoints: ["tcp://127.0.0.1:*"], statusInterval: nil))
        let endpoint = try #require(try publisher.start().first)
        defer { publisher.stop() }
        let python = try PythonScript("examples/subscribe.py", [endpoint])
        defer { python.stop() }
        let done = LockedFlag()
        let feeder = Thread {
            var mask = BinaryMask(width: 20, height: 10)
            for y in 2..<5 { for x in 3..<9 { mask[x, y] = true } }
            var frame: Int64 = 0
            while !done.value {
                publisher.publish(MaskFrame(stream: "cam0", phraseID: "p7", phrase: "a box", frame: frame,
                                            captureTime: Date().timeIntervalSince1970, score: 1, present: true, mask: mask))
                frame += 1
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        feeder.start()
        let line = python.readLine()
        done.set()
        #expect(line?.hasPrefix("masks/cam0/p7 seq ") == true && line?.contains(" area 18 age ") == true, "\(line ?? "nothing")")
    }

    @Test("--help reads well: every subcommand and option is described")
    func help() throws {
        let root = try runReferstream(["--help"])
        #expect(root.status == 0)
        for name in ["phrase", "status", "subscribe"] { #expect(root.stdout.contains(name), "\(root.stdout)") }
        let subscribe = try runReferstream(["subscribe", "--help"])
        for option in ["--stream", "--phrase", "--save-dir", "--overlay", "--masks"] {
            #expect(subscribe.stdout.contains(option), "\(subscribe.stdout)")
        }
        let bad = try runReferstream(["subscribe", "--overlay"])
        #expect(bad.status != 0 && bad.stderr.contains("--overlay needs --save-dir"), "\(bad)")
    }
}
