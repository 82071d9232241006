import Foundation
import TestSupport
import Testing

/// `referstream segment` through the built binary, on a generated video and on a folder of frames.
@Suite("referstream segment")
struct SegmentCommandTests {
    /// Width, height and the set of grey values of an 8-bit greyscale PNG written by the project
    /// (single IDAT, filter 0), decoded with zlib through Python (an independent decoder).
    static func inspect(_ png: URL) throws -> (width: Int, height: Int, values: Set<Int>) {
        let python = try #require(testPython)
        let script = """
            import sys, zlib, struct
            d = open(sys.argv[1], 'rb').read()
            assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            w, h = struct.unpack('>II', d[16:24]); assert d[24] == 8 and d[25] == 0
            i, idat = 8, b''
            while i < len(d):
                n, = struct.unpack('>I', d[i:i+4]); t = d[i+4:i+8]
                if t == b'IDAT': idat += d[i+8:i+8+n]
                i += 12 + n
            raw = zlib.decompress(idat)
            rows = [raw[r*(w+1)+1:(r+1)*(w+1)] for r in range(h)]
            print(w, h, ' '.join(str(v) for v in sorted(set(b for row in rows for b in row))))
            """
        let result = try run(python, ["-c", script, png.path])
        let fields = result.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(result.status == 0 && fields.count >= 3, "\(result)")
        return (fields[0], fields[1], Set(fields[2...]))
    }

    func segment(_ input: String, _ output: URL, extra: [String] = []) throws -> CommandResult {
        try runReferstream([
            "segment", "--weights", fixture("referformer-tiny/weights.safetensors").path, "--tokenizer", fixture("tokenizer").path,
            "--input", input, "--text", "the ball", "--text", "the man in the red jacket on the left", "--output", output.path,
            "--shorter-side", "48",
        ] + extra)
    }

    @Test("a video file gives one 0/255 PNG per frame and phrase at the original size", .enabled(if: testPython != nil))
    func video() throws {
        let directory = try temporaryDirectory("segment")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = directory.appendingPathComponent("clip.mp4")
        let made = try run(URL(fileURLWithPath: "/usr/bin/gst-launch-1.0"), [
            "-q", "videotestsrc", "num-buffers=5", "pattern=ball", "!", "video/x-raw,width=96,height=64,framerate=10/1",
            "!", "x264enc", "!", "mp4mux", "!", "filesink", "location=\(clip.path)",
        ])
        #expect(made.status == 0, "\(made)")
        let out = directory.appendingPathComponent("masks")
        let result = try segment(clip.path, out, extra: ["--window", "2"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("5 frames, 2 phrase(s), 10 masks written") && result.stdout.contains("T=2 s=2"), "\(result.stdout)")
        for phrase in ["p1", "p2"] {
            let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent(phrase).path).sorted()
            #expect(files == (0..<5).map { String(format: "%05d.png", $0) })
            let png = try Self.inspect(out.appendingPathComponent(phrase).appendingPathComponent("00004.png"))
            #expect(png.width == 96 && png.height == 64 && png.values.isSubset(of: [0, 255]), "\(png)")
        }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("phrases.json"))) as? [String: Any]
        let phrases = summary?["phrases"] as? [[String: Any]]
        #expect(summary?["frames"] as? Int == 5 && phrases?.count == 2 && summary?["complete"] as? Bool == true)
        #expect((summary?["window"] as? [String: Int]) == ["length": 2, "stride": 2])
        // Per frame: the frame's name, track id, score in [0, 1], presence and a box inside the frame.
        let frames = try #require(phrases?[0]["frames"] as? [[String: Any]])
        #expect(frames.map { $0["frame"] as? String } == (0..<5).map { String(format: "%05d", $0) })
        for frame in frames {
            let score = try #require(frame["score"] as? Double), box = try #require(frame["box"] as? [Double])
            #expect(frame["track_id"] as? Int != nil && frame["present"] as? Bool != nil && (0...1).contains(score) && box.count == 4)
        }
    }

    @Test("a folder of frames works the same; frames of different sizes are refused", .enabled(if: testPython != nil))
    func folder() throws {
        let directory = try temporaryDirectory("segment-folder")
        defer { try? FileManager.default.removeItem(at: directory) }
        let frames = directory.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        for (i, size) in [(80, 60), (80, 60), (80, 60)].enumerated() {
            let made = try run(URL(fileURLWithPath: "/usr/bin/gst-launch-1.0"), [
                "-q", "videotestsrc", "num-buffers=1", "pattern=\(i + 1)", "!", "video/x-raw,width=\(size.0),height=\(size.1)",
                "!", "pngenc", "!", "filesink", "location=\(frames.appendingPathComponent("f\(i).png").path)",
            ])
            #expect(made.status == 0, "\(made)")
        }
        let out = directory.appendingPathComponent("masks")
        let result = try segment(frames.path, out)
        #expect(result.status == 0, "\(result)")
        // The input's frame names are kept.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("p1").path).sorted() == ["f0.png", "f1.png", "f2.png"])
        let png = try Self.inspect(out.appendingPathComponent("p2/f2.png"))
        #expect(png.width == 80 && png.height == 60 && png.values.isSubset(of: [0, 255]), "\(png)")

        let odd = try run(URL(fileURLWithPath: "/usr/bin/gst-launch-1.0"), [
            "-q", "videotestsrc", "num-buffers=1", "!", "video/x-raw,width=64,height=64", "!", "pngenc", "!", "filesink",
            "location=\(frames.appendingPathComponent("f9.png").path)",
        ])
        #expect(odd.status == 0)
        let refused = try segment(frames.path, directory.appendingPathComponent("masks2"))
        #expect(refused.status == 1 && refused.stderr.contains("all frames of a video must have one size"), "\(refused)")
    }

    @Test("--overlay draws each phrase's mask in its colour over the frame, exactly", .enabled(if: testPython != nil))
    func overlay() throws {
        let directory = try temporaryDirectory("segment-overlay")
        defer { try? FileManager.default.removeItem(at: directory) }
        let frames = directory.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        for i in 0..<2 {
            let made = try run(URL(fileURLWithPath: "/usr/bin/gst-launch-1.0"), [
                "-q", "videotestsrc", "num-buffers=1", "pattern=solid-color", "foreground-color=0xff406080", "!",
                "video/x-raw,format=RGB,width=64,height=48", "!", "pngenc", "!", "filesink",
                "location=\(frames.appendingPathComponent("f\(i).png").path)",
            ])
            #expect(made.status == 0, "\(made)")
        }
        let out = directory.appendingPathComponent("masks")
        let result = try segment(frames.path, out, extra: ["--overlay"])
        #expect(result.status == 0, "\(result)")
        // Python recomputes every overlay pixel from the frame colour, the phrase masks and the colours
        // listed in phrases.json, decoding the PNGs with zlib (filter 0 rows, as the project writes them).
        let script = """
            import json, struct, sys, zlib
            def load(path):
                d = open(path, 'rb').read(); w, h = struct.unpack('>II', d[16:24]); ct = d[25]
                i, idat = 8, b''
                while i < len(d):
                    n, = struct.unpack('>I', d[i:i+4])
                    if d[i+4:i+8] == b'IDAT': idat += d[i+8:i+8+n]
                    i += 12 + n
                raw = zlib.decompress(idat); ch = 3 if ct == 2 else 1; row = w * ch
                assert all(raw[r * (row + 1)] == 0 for r in range(h))
                return w, h, ch, b''.join(raw[r*(row+1)+1:(r+1)*(row+1)] for r in range(h))
            out = sys.argv[1]; info = json.load(open(out + '/phrases.json')); checked = 0
            for t in range(2):
                w, h, ch, overlay = load('%s/overlay/f%d.png' % (out, t)); assert ch == 3 and (w, h) == (64, 48)
                expected = [0x40, 0x60, 0x80] * (w * h)
                for p in info['phrases']:
                    _, _, _, mask = load('%s/%s/f%d.png' % (out, p['id'], t))
                    for i in range(w * h):
                        if mask[i]:
                            for c in range(3): expected[3*i+c] = (expected[3*i+c] + p['overlay_rgb'][c] + 1) // 2
                assert bytes(expected) == overlay, 'frame %d differs' % t
                checked += w * h
            print(checked)
            """
        let checked = try run(try #require(testPython), ["-c", script, out.path])
        #expect(checked.status == 0 && checked.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "6144", "\(checked)")
    }

    @Test("a missing input is one clear error")
    func missing() throws {
        let result = try segment("/nonexistent/video.mp4", URL(fileURLWithPath: "/tmp/referstream-never"))
        #expect(result.status == 1 && result.stderr == "error: /nonexistent/video.mp4 does not exist: give a video file, a folder of frames, an rtsp:// URL, a /dev/videoN camera or a file:// URI\n", "\(result)")
        let camera = try segment("/dev/video99", URL(fileURLWithPath: "/tmp/referstream-never"))
        #expect(camera.status == 1 && camera.stderr.hasPrefix("error: there is no camera at /dev/video99"), "\(camera)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/referstream-never"))
    }
}
