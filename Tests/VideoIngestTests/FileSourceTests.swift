import Foundation
import Testing
@testable import VideoIngest

/// Clips made by the tests with gst-launch-1.0 (x264enc → mp4, vp8enc → webm) in temporary folders.
enum Clips {
    struct Clip: Sendable, CustomStringConvertible {
        var name: String
        var width: Int
        var height: Int
        var frames: Int
        var encoder: String
        var muxer: String
        var description: String { name }
    }

    static let all: [Clip] = [
        Clip(name: "h264_854x480.mp4", width: 854, height: 480, frames: 30, encoder: "x264enc", muxer: "mp4mux"),
        Clip(name: "h264_360x640.mp4", width: 360, height: 640, frames: 20, encoder: "x264enc", muxer: "mp4mux"),
        Clip(name: "vp8_854x480.webm", width: 854, height: 480, frames: 20, encoder: "vp8enc", muxer: "webmmux"),
        Clip(name: "vp8_321x241.webm", width: 321, height: 241, frames: 15, encoder: "vp8enc", muxer: "webmmux"),
    ]

    static let solid = Clip(name: "solid.mp4", width: 640, height: 480, frames: 5, encoder: "x264enc", muxer: "mp4mux")

    /// Encodes `clip` into `folder` and returns its path. Each test makes the clips it reads in its
    /// own temporary folder and removes it, so nothing is left behind.
    static func make(_ clip: Clip, in folder: URL) throws -> String {
        let path = folder.appendingPathComponent(clip.name).path
        let pattern = clip.name == solid.name ? "pattern=solid-color foreground-color=0xff3366cc" : "pattern=ball"
        try TestSupport.gstLaunch(
            "videotestsrc num-buffers=\(clip.frames) \(pattern) ! video/x-raw,width=\(clip.width),height=\(clip.height),framerate=25/1 ! "
                + "videoconvert ! video/x-raw,format=I420 ! \(clip.encoder) ! \(clip.muxer) ! filesink location=\(path)")
        return path
    }

    static func named(_ name: String) -> Clip {
        all.first { $0.name == name } ?? solid
    }
}

/// A temporary folder removed when the value goes away.
final class ScratchFolder {
    let url: URL
    init() throws { url = try TestSupport.temporaryDirectory() }
    deinit { try? FileManager.default.removeItem(at: url) }
    func clip(_ name: String) throws -> String { try Clips.make(Clips.named(name), in: url) }
}

@Suite("File sources (generated clips)")
struct FileSourceTests {
    @Test("H.264 mp4 and VP8 webm clips decode to every frame at the model size", arguments: Clips.all)
    func decode(clip: Clips.Clip) throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }  // keep the clips until the source is done
        let log = EventLog()
        let source = try VideoSource(SourceConfiguration(.file(.init(path: try Clips.make(clip, in: scratch.url)))), onEvent: log.handler)
        try source.start()
        let frames = try TestSupport.drain(source)
        source.stop()
        let expected = OutputFormat.modelInput.targetSize(for: FrameSize(width: clip.width, height: clip.height))
        #expect(frames.count == clip.frames, "\(clip): \(frames.count) frames")
        for frame in frames {
            #expect(frame.size == expected, "\(clip): \(frame.size), expected \(expected)")
            #expect(frame.originalSize == FrameSize(width: clip.width, height: clip.height))
            #expect(frame.pixels.count == expected.width * expected.height * 3)
        }
        let pts = frames.compactMap(\.presentationTime)
        #expect(pts.count == clip.frames && zip(pts, pts.dropFirst()).allSatisfy { $0 < $1 }, "\(clip): \(pts)")
        #expect(frames.map(\.index) == Array(0..<frames.count))
        #expect(log.names.first == "connecting" && log.names.last == "eos" && !log.names.contains("failed"), "\(log.names)")
    }

    @Test("original mode hands over the decoded frames unscaled (for the Pillow-equivalent resize)")
    func original() throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }  // keep the clips until the source is done
        let source = try VideoSource(SourceConfiguration(.file(.init(path: try scratch.clip("vp8_321x241.webm"))), output: .original))
        try source.start()
        let frames = try TestSupport.drain(source)
        #expect(frames.count == 15)
        #expect(frames.allSatisfy { $0.size == FrameSize(width: 321, height: 241) && $0.pixels.count == 321 * 241 * 3 })
    }

    @Test("decoded colours are right (solid 0x3366cc through H.264 and back)")
    func colour() throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }  // keep the clips until the source is done
        let source = try VideoSource(SourceConfiguration(.file(.init(path: try scratch.clip("solid.mp4")))))
        try source.start()
        let frames = try TestSupport.drain(source)
        #expect(frames.count == 5)
        for frame in frames {
            #expect(frame.size == FrameSize(width: 480, height: 360))
            for (x, y) in [(0, 0), (240, 180), (479, 359)] {
                let at = (y * frame.width + x) * 3
                let pixel = frame.pixels[at..<at + 3].map(Int.init)
                #expect(zip(pixel, [0x33, 0x66, 0xcc]).allSatisfy { abs($0 - $1) <= 6 }, "(\(x),\(y)): \(pixel)")
            }
        }
    }

    @Test("a realtime file is paced through the live queue and still ends with EOS")
    func realtime() throws {
        let scratch = try ScratchFolder()
        defer { withExtendedLifetime(scratch) {} }  // keep the clips until the source is done
        let log = EventLog()
        let source = try VideoSource(SourceConfiguration(.file(.init(path: try scratch.clip("vp8_321x241.webm"), realtime: true)), liveQueueCapacity: 32), onEvent: log.handler)
        #expect(source.configuration.isLive)
        let start = ContinuousClock.now
        try source.start()
        let frames = try TestSupport.drain(source)
        print("realtime file: 15 frames at 25 fps took \(ContinuousClock.now - start)")
        #expect(frames.count == 15)
        #expect(source.statistics.dropped == 0)
        #expect(log.names == ["connecting", "live", "eos"], "\(log.names)")
    }
}

@Suite("Source errors are typed and readable")
struct SourceErrorTests {
    static func failure(_ configuration: SourceConfiguration) throws -> (IngestError?, [String]) {
        let log = EventLog()
        let source = try VideoSource(configuration, onEvent: log.handler)
        try source.start()
        let error = TestSupport.terminalError(source)
        source.stop()
        return (error, log.names)
    }

    @Test("a file that does not exist")
    func missingFile() throws {
        let (error, events) = try Self.failure(SourceConfiguration(.file(.init(path: "/nonexistent/clip.mp4"))))
        #expect(error?.code == .notFound, "\(String(describing: error))")
        #expect(error?.message.contains("file '/nonexistent/clip.mp4'") == true, "\(String(describing: error))")
        #expect(events == ["connecting", "failed"], "\(events)")
    }

    @Test("a file of random bytes and a truncated mp4", arguments: ["garbage", "truncated"])
    func corruptFile(kind: String) throws {
        let folder = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("\(kind).mp4").path
        if kind == "garbage" {
            // Deterministic noise (a linear congruential sequence), no container signature.
            var state: UInt32 = 12345
            let bytes = (0..<65536).map { _ -> UInt8 in
                state = state &* 1_103_515_245 &+ 12345
                return UInt8(truncatingIfNeeded: state >> 16)
            }
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        } else {
            // mp4mux writes the index (moov) at the end: the first half has frames but no index.
            let whole = try Data(contentsOf: URL(fileURLWithPath: try Clips.make(Clips.named("h264_854x480.mp4"), in: folder)))
            #expect(FileManager.default.createFile(atPath: path, contents: whole.prefix(whole.count / 2)))
        }
        let (error, events) = try Self.failure(SourceConfiguration(.file(.init(path: path)), connectTimeout: .seconds(4)))
        // Usually the demuxer's error (decode). Rarely, under load, decodebin swallows qtdemux's error
        // while it is still plugging it and the pipeline sits in PAUSED: the first-frame watchdog
        // then reports a timeout. Either way the source fails with a typed, readable error.
        #expect(error?.code == .decode || error?.code == .timeout, "\(kind): \(String(describing: error))")
        #expect(error?.message.contains("corrupt, truncated") == true || error?.message.contains("no first frame") == true,
                "\(String(describing: error))")
        #expect(events.last == "failed", "\(events)")
        print("\(kind) file error: \(error.map(String.init(describing:)) ?? "none")")
    }

    @Test("a camera device that does not exist")
    func missingCamera() throws {
        let (error, events) = try Self.failure(SourceConfiguration(
            .v4l2(.init(device: "/dev/video97")), reconnect: .init(maxAttempts: 0)))
        #expect(error?.code == .notFound, "\(String(describing: error))")
        #expect(error?.message.contains("/dev/video97") == true, "\(String(describing: error))")
        #expect(events == ["connecting", "failed"], "\(events)")
        print("camera error: \(error.map(String.init(describing:)) ?? "none")")
    }

    @Test("an RTSP URL nobody listens on: retried with backoff, then a typed failure")
    func unreachableRTSP() throws {
        let port = try TestSupport.freePort()
        let (error, events) = try Self.failure(SourceConfiguration(
            .rtsp(.init(url: "rtsp://127.0.0.1:\(port)/nothing", timeout: .seconds(2))),
            connectTimeout: .seconds(3),
            reconnect: .init(initialDelay: .milliseconds(50), maxDelay: .milliseconds(100), maxAttempts: 2)))
        #expect(error?.code == .resource, "\(String(describing: error))")
        #expect(error?.message.contains("2 reconnection attempt(s)") == true, "\(String(describing: error))")
        #expect(events == ["connecting", "reconnecting", "connecting", "reconnecting", "connecting", "failed"], "\(events)")
        print("rtsp error: \(error.map(String.init(describing:)) ?? "none")")
    }

    @Test("a custom pipeline that does not parse fails at start")
    func unparsableCustom() throws {
        let log = EventLog()
        let source = try VideoSource(SourceConfiguration(.custom(.init(description: "videotestsrc ! nosuchelement-xyz", live: true))), onEvent: log.handler)
        do {
            try source.start()
            Issue.record("start should have thrown")
        } catch {
            #expect(error.code == .pipelineParse)
            #expect(error.underlying?.contains("nosuchelement-xyz") == true, "\(error)")
        }
        #expect(throws: IngestError.self) { try source.next(timeout: .milliseconds(10)) }
        #expect(log.names == ["connecting", "failed"], "\(log.names)")
        source.stop()
    }

    @Test("a custom pipeline must not bring its own referstream_sink")
    func customWithSink() {
        #expect(throws: IngestError.self) {
            try VideoSource(SourceConfiguration(.custom(.init(description: "videotestsrc ! appsink name=referstream_sink", live: false))))
        }
    }
}
