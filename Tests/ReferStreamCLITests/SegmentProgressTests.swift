import Foundation
import TestSupport
import Testing

/// `segment`'s progress line, read from the built binary with its standard error on a pseudo-terminal
/// (the line is drawn only on a terminal): every step shows, in order, and the percentage covers them.
@Suite("referstream segment: progress line", .enabled(if: testPython != nil))
struct SegmentProgressTests {
    /// Runs `referstream segment` on a 6-frame H.264 clip with stderr on a pty (Python's `pty`); returns
    /// the exit status and the progress lines (the text between carriage returns, escape codes removed).
    func progressLines(_ extra: [String]) throws -> (status: Int32, lines: [String], stdout: String) {
        let python = try #require(testPython)
        let binary = try #require(builtProduct("referstream"), "the referstream executable is not built next to the tests (swift build --build-tests)")
        let directory = try temporaryDirectory("segment-progress")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try makeBallClip(in: directory, frames: 6)
        let script = """
            import json, os, pty, subprocess, sys
            primary, secondary = pty.openpty()
            child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL)
            os.close(secondary)
            data = b''
            while True:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                data += chunk
            out = child.stdout.read().decode()
            print(json.dumps({'status': child.wait(), 'stderr': data.decode(), 'stdout': out}))
            """
        let result = try run(python, ["-c", script, binary.path, "segment",
                                      "--weights", fixture("referformer-tiny/weights.safetensors").path, "--tokenizer", fixture("tokenizer").path,
                                      "--input", clip.path, "--output", directory.appendingPathComponent("masks").path, "--shorter-side", "48",
                                      "--text", "the ball", "--text", "the sky"] + extra)
        try #require(result.status == 0, "\(result)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let stderr = try #require(object["stderr"] as? String)
        let lines = stderr.replacingOccurrences(of: "\u{1B}[K", with: "").split(whereSeparator: { $0 == "\r" || $0 == "\n" })
            .map(String.init).filter { $0.contains(" read)") }
        return (Int32(try #require(object["status"] as? Int)), lines, try #require(object["stdout"] as? String))
    }

    /// "p1 encoder + decoder, frame 2/6" from "…  (p1 encoder + decoder, frame 2/6, 0 s; 6 read)".
    static func step(_ line: String) -> String {
        guard let open = line.range(of: "  (", options: .backwards) else { return "" }
        let inside = line[open.upperBound...]
        let semicolon = inside.lastIndex(of: ";") ?? inside.endIndex
        var step = String(inside[..<semicolon])
        if let comma = step.range(of: ", ", options: .backwards), step[comma.upperBound...].hasSuffix(" s") {
            step = String(step[..<comma.lowerBound])  // the step's elapsed seconds
        }
        return step
    }

    static func number(before suffix: String, in line: String) -> Int? {
        guard let end = line.range(of: suffix) else { return nil }
        return Int(line[..<end.lowerBound].split(separator: " ").last.map { $0.drop { !$0.isNumber } } ?? "")
    }

    @Test("--whole-video: the line moves through every step after the backbone, the percentage never goes back and reads 100 only at the end")
    func wholeVideo() throws {
        let (status, lines, stdout) = try progressLines(["--whole-video"])
        #expect(status == 0 && stdout.hasPrefix("6 frames, 2 phrase(s), 12 masks written"), "\(stdout)")
        // The steps in order, each once (redraws of a running step repeat it).
        var steps: [String] = []
        for line in lines {
            let step = Self.step(line)
            if step != "reading" && step != "backbone" && steps.last != step { steps.append(step) }
        }
        let expected = ["p1", "p2"].flatMap { p in
            (1...6).map { "\(p) encoder + decoder, frame \($0)/6" } + ["\(p) pixel decoder + mask head on 6 frames"]
        } + (1...6).map { "writing masks, frame \($0)/6" }
        #expect(steps == expected, "\(steps)")
        #expect(lines.contains { Self.step($0) == "backbone" }, "\(lines)")

        // Once the backbone's cost and the frame count are known (from the second frame read), every
        // line has a percentage of the work and an ETA until the last frame is written.
        let measured = lines.filter { (Self.number(before: " read)", in: $0) ?? 0) >= 2 }
        #expect(measured.count >= expected.count, "\(lines)")
        let percentages = measured.compactMap { Self.number(before: " % of the work", in: $0) }
        let written = measured.compactMap { Self.number(before: "/6 frames written", in: $0) }
        #expect(percentages.count == measured.count && written.count == measured.count, "\(measured)")
        #expect(zip(percentages, percentages.dropFirst()).allSatisfy { $0 <= $1 }, "never back: \(percentages)")
        #expect(zip(written, written.dropFirst()).allSatisfy { $0 <= $1 } && written.last == 6, "\(written)")
        for (line, (p, w)) in zip(measured, zip(percentages, written)) {
            #expect((p == 100) == (w == 6), "100 % exactly when every frame is written: \(line)")
            #expect(line.contains("ETA ") == (w < 6), "\(line)")
        }
        // The last window (after the backbone on every frame) is most of the line's life.
        let afterBackbone = measured.drop { !Self.step($0).hasPrefix("p1 encoder") }
        #expect(Set(afterBackbone.compactMap { Self.number(before: "/6 frames written", in: $0) }) == Set(0...6), "\(afterBackbone)")
    }

    @Test("windows: frames written count up to the total, with the window's steps named")
    func windows() throws {
        let (status, lines, _) = try progressLines(["--window", "3"])
        #expect(status == 0, "\(lines)")
        // The frame count is known from the second frame read (the video's duration × frame rate).
        let counted = lines.filter { (Self.number(before: " read)", in: $0) ?? 0) >= 2 }
        let written = counted.compactMap { Self.number(before: "/6 frames (", in: $0) }
        #expect(written.count == counted.count && written.last == 6, "\(lines)")
        #expect(zip(written, written.dropFirst()).allSatisfy { $0 <= $1 }, "\(written)")
        #expect(lines.last?.contains("6/6 frames (100 %)") == true, "\(lines)")
        let steps = Set(lines.map(Self.step))
        for step in ["backbone", "p1 pixel decoder + mask head on 3 frames", "p2 pixel decoder + mask head on 3 frames", "writing masks, frame 3/3"] {
            #expect(steps.contains(step), "\(step) in \(steps.sorted())")
        }
    }
}
