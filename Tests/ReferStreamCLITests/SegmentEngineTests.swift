import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `referstream segment` on the streaming engine, through the built binary: output folder rules,
/// refused inputs, limits, interruption, and the whole-video mode against `referstream infer`.
@Suite("referstream segment: engine, refusals and interruption")
struct SegmentEngineTests {
    static let gst = URL(fileURLWithPath: "/usr/bin/gst-launch-1.0")

    func segment(_ input: String, _ output: URL, texts: [String] = ["the ball"], extra: [String] = []) throws -> CommandResult {
        try runReferstream([
            "segment", "--weights", fixture("referformer-tiny/weights.safetensors").path, "--tokenizer", fixture("tokenizer").path,
            "--input", input, "--output", output.path, "--shorter-side", "48",
        ] + texts.flatMap { ["--text", $0] } + extra)
    }

    /// An H.264 file of `frames` frames of a moving ball.
    func video(in directory: URL, frames: Int) throws -> URL {
        let clip = directory.appendingPathComponent("clip.mp4")
        let made = try run(Self.gst, [
            "-q", "videotestsrc", "num-buffers=\(frames)", "pattern=ball", "!", "video/x-raw,width=96,height=64,framerate=10/1",
            "!", "x264enc", "!", "mp4mux", "!", "filesink", "location=\(clip.path)",
        ])
        try #require(made.status == 0, "\(made)")
        return clip
    }

    @Test("a non-empty output folder is refused unless --overwrite, which replaces the old results")
    func outputFolder() throws {
        let directory = try temporaryDirectory("segment-out")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try video(in: directory, frames: 3)
        let out = directory.appendingPathComponent("masks")
        try FileManager.default.createDirectory(at: out.appendingPathComponent("p3"), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: out.appendingPathComponent("p3/00000.png"))
        try Data("keep".utf8).write(to: out.appendingPathComponent("notes.txt"))

        let refused = try segment(clip.path, out)
        #expect(refused.status == 1 && refused.stderr == "error: the output folder \(out.path) is not empty: choose another folder, or pass --overwrite to replace the results in it\n", "\(refused)")

        let replaced = try segment(clip.path, out, extra: ["--overwrite"])
        #expect(replaced.status == 0, "\(replaced)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(entries == ["notes.txt", "p1", "phrases.json"], "the old p3/ is gone, other files stay: \(entries)")
    }

    @Test("an undecodable input fails with GStreamer's reason and creates nothing")
    func undecodable() throws {
        let directory = try temporaryDirectory("segment-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bad = directory.appendingPathComponent("ball.mp4")
        try Data(repeating: 0x41, count: 4096).write(to: bad)
        let out = directory.appendingPathComponent("masks")
        let result = try segment(bad.path, out)
        #expect(result.status == 1 && result.stderr.hasPrefix("error: cannot decode \(bad.path): "), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "no output folder for a failed decode")
    }

    @Test("empty phrases, --threads 0 and bad windows are refused with one error line", arguments: [
        (["--text", ""], "error: --text number 2 is empty: give the words that name the object"),
        (["--text", "   "], "error: --text number 2 is empty: give the words that name the object"),
        (["--threads", "0"], "error: --threads must be at least 1, got 0"),
        (["--window", "3", "--stride", "4"], "error: --stride must be between 1 and the window (3 frames), got 4"),
        (["--whole-video", "--window", "3"], "error: --whole-video runs one clip: drop --window and --stride"),
        (["--frames", "0"], "error: --frames must be at least 1, got 0"),
    ])
    func refused(_ extra: [String], _ message: String) throws {
        let out = URL(fileURLWithPath: "/tmp/referstream-never-\(UUID().uuidString)")
        let result = try segment(fixture("referformer-tiny").path, out, extra: extra)
        #expect(result.status == 1 && result.stderr == message + "\n", "\(result)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("--frames stops a file early; a file:// URI is an input")
    func framesLimit() throws {
        let directory = try temporaryDirectory("segment-limit")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try video(in: directory, frames: 6)
        let out = directory.appendingPathComponent("masks")
        let result = try segment(clip.absoluteURL.absoluteString, out, extra: ["--frames", "4", "--window", "3"])
        #expect(result.status == 0 && result.stdout.hasPrefix("4 frames, 1 phrase(s), 4 masks written"), "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("p1").path).sorted() == (0..<4).map { String(format: "%05d.png", $0) })
    }

    /// A live input: GStreamer's RTSP server (Tests/Fixtures/ingest/rtsp_server.py) on the loopback.
    @Test("an rtsp:// URL is a live input that stops at --frames", .enabled(if: testPython != nil))
    func rtsp() throws {
        let directory = try temporaryDirectory("segment-rtsp")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Port 0: the server binds a port the system picks and prints it ("READY PORT"); a port chosen
        // here could be taken meanwhile (CI once failed on a random one).
        let server = Process()
        let python = try #require(testPython)
        server.executableURL = python
        server.arguments = [fixture("ingest/rtsp_server.py").path, "0"]
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL, as the ingest tests do (the server's GLib loop may not be reached by SIGTERM).
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        var banner = ""
        while !banner.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            banner += String(decoding: data, as: UTF8.self)
        }
        try #require(banner.hasPrefix("READY"), "the RTSP server did not start: \(banner)")
        let port = try #require(Int(banner.dropFirst("READY".count).trimmingCharacters(in: .whitespacesAndNewlines)), "no port in \(banner)")
        #expect(port > 0)
        let out = directory.appendingPathComponent("masks")
        let result = try segment("rtsp://127.0.0.1:\(port)/test", out, extra: ["--frames", "3", "--window", "3"])
        #expect(result.status == 0 && result.stdout.hasPrefix("3 frames, 1 phrase(s), 3 masks written"), "\(result)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("phrases.json"))) as? [String: Any]
        #expect(summary?["complete"] as? Bool == true && summary?["input"] as? String == "rtsp://127.0.0.1:\(port)/test")
    }

    @Test("--pixel-decoder incremental: the same files, and at stride 1 every mask after the first window equals exact mode's", .enabled(if: testPython != nil))
    func incrementalPixelDecoder() throws {
        let directory = try temporaryDirectory("segment-incremental")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try video(in: directory, frames: 7)
        var outputs: [URL] = []
        for mode in ["exact", "incremental"] {
            let out = directory.appendingPathComponent(mode)
            let result = try segment(clip.path, out, texts: ["the ball", "the white ball on the left"],
                                     extra: ["--window", "3", "--stride", "1", "--pixel-decoder", mode])
            #expect(result.status == 0 && result.stdout.hasPrefix("7 frames, 2 phrase(s), 14 masks written"), "\(mode): \(result)")
            outputs.append(out)
        }
        // Per frame and phrase: the share of pixels on which the two modes' PNGs agree (decoded by zlib in Python).
        let script = """
            import sys, os, zlib, struct
            def pixels(path):
                d = open(path, 'rb').read(); i, idat = 8, b''
                while i < len(d):
                    n, = struct.unpack('>I', d[i:i+4])
                    if d[i+4:i+8] == b'IDAT': idat += d[i+8:i+8+n]
                    i += 12 + n
                w, h = struct.unpack('>II', d[16:24]); raw = zlib.decompress(idat)
                return [b for r in range(h) for b in raw[r*(w+1)+1:(r+1)*(w+1)]]
            for p in ('p1', 'p2'):
                names = sorted(os.listdir(os.path.join(sys.argv[1], p)))
                assert names == sorted(os.listdir(os.path.join(sys.argv[2], p))), names
                for n in names:
                    a, b = pixels(os.path.join(sys.argv[1], p, n)), pixels(os.path.join(sys.argv[2], p, n))
                    print(p, n, sum(x == y for x, y in zip(a, b)) / len(a), sum(x > 0 for x in a))
            """
        let python = try #require(testPython)
        let compared = try run(python, ["-c", script, outputs[0].path, outputs[1].path])
        try #require(compared.status == 0, "\(compared)")
        let rows = compared.stdout.split(separator: "\n").map { $0.split(separator: " ") }
        #expect(rows.count == 14, "\(compared.stdout)")
        var firstWindowDiffers = false
        for row in rows where row.count == 4 {
            let frame = Int(row[1].prefix(5)) ?? -1, agreement = Double(row[2]) ?? 0
            // Frames 3…6 are each emitted as the newest frame of its window: the same keys and values as exact
            // mode (float rounding may flip a pixel on the 0.5 boundary). The first window's older frames
            // attended only to the frames before them, so they may differ.
            if frame >= 3 { #expect(agreement >= 0.999, "\(row.joined(separator: " "))") }
            if frame < 2 && agreement < 1 { firstWindowDiffers = true }
        }
        // With these weights the second phrase's first two masks differ (99.4 % agreement): the mode is in effect.
        #expect(firstWindowDiffers, "incremental mode gave exact mode's masks on the first window too: \(compared.stdout)")
        let wholeVideo = try segment(clip.path, directory.appendingPathComponent("never"), extra: ["--whole-video", "--pixel-decoder", "incremental"])
        #expect(wholeVideo.status == 1 && wholeVideo.stderr == "error: --whole-video is the official computation: drop --pixel-decoder incremental, or give a --window\n", "\(wholeVideo)")
    }

    @Test("--whole-video is refused with a suggestion when its estimate exceeds the memory allowed")
    func wholeVideoMemory() throws {
        let directory = try temporaryDirectory("segment-memory")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try video(in: directory, frames: 3)
        let out = directory.appendingPathComponent("masks")
        let result = try segment(clip.path, out, extra: ["--whole-video", "--max-memory", "0.001", "--frames", "3"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("error: --whole-video on 3 frames needs about") && result.stderr.contains("drop --whole-video to run bounded windows"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("Ctrl-C keeps the completed frames, marks phrases.json incomplete, says so in one line and exits 130", .enabled(if: testPython != nil))
    func interrupt() throws {
        let directory = try temporaryDirectory("segment-int")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try video(in: directory, frames: 400)
        let out = directory.appendingPathComponent("masks")
        let binary = try #require(builtProduct("referstream"))
        let process = Process()
        process.executableURL = binary
        process.arguments = ["segment", "--weights", fixture("referformer-tiny/weights.safetensors").path, "--tokenizer", fixture("tokenizer").path,
                             "--input", clip.path, "--output", out.path, "--shorter-side", "48", "--text", "the ball", "--window", "2"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Interrupt once the first masks are written.
        let p1 = out.appendingPathComponent("p1").path
        let deadline = Date().addingTimeInterval(120)
        while ((try? FileManager.default.contentsOfDirectory(atPath: p1))?.count ?? 0) < 2 && process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.interrupt()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "\(stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("phrases.json"))) as? [String: Any]
        let written = try FileManager.default.contentsOfDirectory(atPath: p1).count
        #expect(summary?["complete"] as? Bool == false && summary?["frames"] as? Int == written && written < 400, "\(String(describing: summary?["frames"])) vs \(written)")
        let frames = ((summary?["phrases"] as? [[String: Any]])?.first?["frames"] as? [[String: Any]])?.count
        #expect(frames == written)
        // Besides the informational lines (what was loaded, the input size), one line says what happened.
        #expect(stderr.split(separator: "\n").filter { $0.hasPrefix("input: ") } == ["input: shorter side 48 px (--shorter-side)"], "\(stderr)")
        let lines = stderr.split(separator: "\n").filter { !$0.hasPrefix("loaded ") && !$0.hasPrefix("input: ") }
        #expect(lines == ["interrupted: kept the masks of \(written) frame(s) in \(out.path) (phrases.json says complete: false)"], "\(stderr)")
    }

    /// Frames already at the network size (shorter side 48): the pre-processing is only the ImageNet
    /// normalisation, which Python redoes; `referstream infer` on those tensors gives the official
    /// post-processing (`post.mask`), which the whole-video masks must equal wherever the logit is not
    /// within 1e-3 of the threshold.
    @Test("--whole-video equals referstream infer + the official post-processing", .enabled(if: testPython != nil))
    func wholeVideoEqualsInfer() throws {
        let directory = try temporaryDirectory("segment-whole")
        defer { try? FileManager.default.removeItem(at: directory) }
        let python = try #require(testPython)
        let frames = directory.appendingPathComponent("frames")
        let tensors = directory.appendingPathComponent("frames.safetensors")
        let make = """
            import json, os, struct, sys, zlib
            import numpy as np
            out, tensors = sys.argv[1], sys.argv[2]; os.makedirs(out)
            rng = np.random.default_rng(7); h, w, t = 48, 64, 3
            y, x = np.mgrid[0:h, 0:w]
            frames = []
            for i in range(t):
                img = np.stack([(x * 4 + i * 9) % 256, (y * 5) % 256, ((x + y) * 3) % 256], -1).astype(np.uint8)
                cy, cx = 10 + 8 * i, 12 + 10 * i
                img[(y - cy) ** 2 + (x - cx) ** 2 < 64] = [250, 240, 30]
                frames.append(img)
                raw = b''.join(b'\\x00' + img[r].tobytes() for r in range(h))
                def chunk(k, d): return struct.pack('>I', len(d)) + k + d + struct.pack('>I', zlib.crc32(k + d) & 0xffffffff)
                png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
                open('%s/frame%02d.png' % (out, i), 'wb').write(png)
            a = np.stack(frames).astype(np.float32) / np.float32(255)
            mean = np.array([0.485, 0.456, 0.406], np.float32); std = np.array([0.229, 0.224, 0.225], np.float32)
            a = ((a - mean) / std).transpose(0, 3, 1, 2).astype(np.float32).copy()
            data = a.tobytes(); header = json.dumps({'frames': {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [0, len(data)]}}).encode()
            open(tensors, 'wb').write(struct.pack('<Q', len(header)) + header + data)
            """
        let made = try run(python, ["-c", make, frames.path, tensors.path])
        try #require(made.status == 0, "\(made)")

        let out = directory.appendingPathComponent("masks")
        let segmented = try segment(frames.path, out, texts: ["the yellow ball"], extra: ["--whole-video"])
        #expect(segmented.status == 0, "\(segmented)")
        let inferred = directory.appendingPathComponent("infer.safetensors")
        let infer = try runReferstream([
            "infer", "--weights", fixture("referformer-tiny/weights.safetensors").path, "--tokenizer", fixture("tokenizer").path,
            "--frames", tensors.path, "--caption", "the yellow ball", "--original-size", "48,64", "--output", inferred.path,
        ])
        #expect(infer.status == 0, "\(infer)")
        let compare = """
            import json, struct, sys, zlib
            import numpy as np
            def tensor(path, name):
                d = open(path, 'rb').read(); n, = struct.unpack('<Q', d[:8]); hd = json.loads(d[8:8 + n]); e = hd[name]
                dt = {'F32': np.float32, 'U8': np.uint8, 'I64': np.int64}[e['dtype']]
                a, b = e['data_offsets']; return np.frombuffer(d[8 + n + a:8 + n + b], dt).reshape(e['shape'])
            def png(path):
                d = open(path, 'rb').read(); w, h = struct.unpack('>II', d[16:24]); i, idat = 8, b''
                while i < len(d):
                    n, = struct.unpack('>I', d[i:i+4])
                    if d[i+4:i+8] == b'IDAT': idat += d[i+8:i+8+n]
                    i += 12 + n
                raw = zlib.decompress(idat); return np.array([list(raw[r*(w+1)+1:(r+1)*(w+1)]) for r in range(h)])
            out, inferred = sys.argv[1], sys.argv[2]
            mask = tensor(inferred, 'post.mask'); logits = tensor(inferred, 'post.mask_logits')
            compared = differing = 0
            for t in range(mask.shape[0]):
                ours = png('%s/p1/frame%02d.png' % (out, t)) // 255
                sure = np.abs(logits[t]) > 1e-3
                differing += int(((ours != mask[t]) & sure).sum()); compared += int(sure.sum())
            info = json.load(open(out + '/phrases.json'))
            assert info['window'] == 'whole-video' and info['complete'] and len({f['track_id'] for f in info['phrases'][0]['frames']}) == 1
            print(compared, differing, int(mask.sum()))
            """
        let checked = try run(python, ["-c", compare, out.path, inferred.path])
        let fields = checked.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(checked.status == 0 && fields.count == 3, "\(checked)")
        #expect(fields.first.map { $0 > 3 * 48 * 64 * 9 / 10 } == true && fields.dropFirst().first == 0, "compared, differing, set: \(fields)")
    }
}
