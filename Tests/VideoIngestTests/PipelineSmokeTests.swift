import Testing
@testable import VideoIngest

@Suite("GStreamer smoke")
struct PipelineSmokeTests {
    @Test("videotestsrc → appsink yields exactly N RGB frames with increasing PTS, then EOS")
    func exactFrames() throws {
        let n = 7, width = 96, height = 54
        let pipeline = try Pipeline(description: """
            videotestsrc num-buffers=\(n) pattern=solid-color foreground-color=0xff3366cc ! video/x-raw,framerate=25/1 ! videoconvert ! \
            video/x-raw,format=RGB,width=\(width),height=\(height) ! appsink name=sink sync=false
            """)
        let reader = try AppSinkReader(pipeline: pipeline)
        try pipeline.play()
        var frames: [RGBFrame] = []
        loop: while true {
            switch try reader.pull(timeoutNanoseconds: 5_000_000_000) {
            case .frame(let frame): frames.append(frame)
            case .endOfStream: break loop
            case .timeout: Issue.record("timed out after \(frames.count) frames"); break loop
            }
        }
        pipeline.stop()
        #expect(frames.count == n)
        for frame in frames {
            #expect(frame.width == width && frame.height == height)
            #expect(frame.pixels.count == width * height * 3)
        }
        let pts = frames.compactMap(\.pts)
        #expect(pts.count == n)
        #expect(zip(pts, pts.dropFirst()).allSatisfy { $0 < $1 }, "PTS not increasing: \(pts)")
        #expect(pts.first == 0 && pts.last == UInt64(n - 1) * 40_000_000, "PTS at 25 fps: \(pts)")
        // A solid ARGB 0xff3366cc frame: every pixel is (0x33, 0x66, 0xcc).
        let expected: [UInt8] = [0x33, 0x66, 0xcc]
        for frame in frames {
            let pixel = frame.pixels.count / 3 / 2 * 3  // a pixel in the middle row
            #expect(Array(frame.pixels[0..<3]) == expected && Array(frame.pixels[pixel..<pixel + 3]) == expected)
        }
    }

    @Test("a description that does not parse is a typed error with GStreamer's message")
    func parseError() {
        do {
            _ = try Pipeline(description: "videotestsrc ! no-such-element-anywhere ! appsink")
            Issue.record("parse should have failed")
        } catch {
            #expect(error.code == .pipelineParse)
            #expect(error.underlying?.contains("no-such-element-anywhere") == true, "\(error)")
        }
    }

    @Test("a pipeline without the named appsink is reported")
    func missingSink() throws {
        let pipeline = try Pipeline(description: "videotestsrc num-buffers=1 ! fakesink name=sink")
        #expect(throws: IngestError.self) { try AppSinkReader(pipeline: pipeline, sinkName: "sink") }
        #expect(throws: IngestError.self) { try AppSinkReader(pipeline: pipeline, sinkName: "absent") }
    }
}
