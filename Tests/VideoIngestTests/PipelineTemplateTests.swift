import Foundation
import Testing
@testable import VideoIngest

@Suite("Pipeline templates")
struct PipelineTemplateTests {
    @Test("each pipelines/*.pipeline file is the built-in template, byte for byte", arguments: ["file", "rtsp", "v4l2", "test", "custom"])
    func builtinMatchesFile(kind: String) throws {
        let path = TestSupport.packageRoot.appendingPathComponent("pipelines/\(kind).pipeline").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(PipelineTemplate.builtinText[kind] == text, "pipelines/\(kind).pipeline differs from BuiltinTemplates.swift")
        let fromFile = try PipelineTemplate(contentsOfFile: path)
        #expect(fromFile == (try PipelineTemplate.builtin(kind)))
        #expect(fromFile.placeholders.last == "output", "\(kind): \(fromFile.placeholders)")
        // Every placeholder is documented in the file's comments.
        for name in fromFile.placeholders {
            #expect(text.contains("#   {\(name)}"), "\(kind): {\(name)} is not documented")
        }
    }

    @Test("placeholders are {lowercase_name}; caps lists in braces are left alone")
    func placeholders() throws {
        let template = try PipelineTemplate(name: "t", text: """
            # comment {ignored}
            videotestsrc pattern={pattern} ! video/x-raw,format={ I420, NV12 } ! {output}

            # trailing comment
            """)
        #expect(template.placeholders == ["pattern", "output"])
        let filled = try template.fill(["pattern": .token("ball"), "output": .verbatim("fakesink")])
        #expect(filled == "videotestsrc pattern=ball ! video/x-raw,format={ I420, NV12 } ! fakesink")
    }

    @Test("missing and unknown parameters are reported together")
    func strictFill() throws {
        let template = try PipelineTemplate.builtin("test")
        do {
            _ = try template.fill(["pattern": .token("ball"), "colour": .token("red"), "output": .verbatim("fakesink")])
            Issue.record("fill should have failed")
        } catch {
            #expect(error.code == .template)
            #expect(error.message.contains("missing: live, num_buffers, width, height, framerate"), "\(error)")
            #expect(error.message.contains("unknown: colour"), "\(error)")
        }
        #expect(throws: IngestError.self) { try PipelineTemplate(name: "empty", text: "# only a comment\n") }
        #expect(throws: IngestError.self) { try PipelineTemplate.builtin("nosuchkind") }
    }

    @Test("values are rendered by type: strings quoted and escaped, tokens and numbers validated")
    func rendering() throws {
        #expect(try TemplateValue.string(#"a "b" \c"#).rendered() == #""a \"b\" \\c""#)
        #expect(try TemplateValue.string("").rendered() == #""""#)
        #expect(try TemplateValue.integer(-1).rendered() == "-1")
        #expect(try TemplateValue.boolean(true).rendered() == "true")
        #expect(try TemplateValue.fraction(30000, 1001).rendered() == "30000/1001")
        #expect(try TemplateValue.token("tcp+udp-mcast+udp").rendered() == "tcp+udp-mcast+udp")
        for bad: TemplateValue in [.string("new\nline"), .token("ball ! fakesink"), .token(""), .fraction(25, 0), .verbatim(" ")] {
            #expect(throws: IngestError.self, "\(bad)") { try bad.rendered() }
        }
    }

    @Test("an RTSP description with awkward credentials parses and keeps them out of messages")
    func rtspCredentials() throws {
        let config = SourceConfiguration(.rtsp(.init(
            url: "rtsp://127.0.0.1:8554/cam", transport: .udp, username: #"me "x""#, password: #"p\ss word!{output}"#)))
        let description = try config.pipelineDescription()
        #expect(description.contains(#"user-pw="p\\ss word!{output}""#), "\(description)")
        #expect(description.contains("latency=200 protocols=udp timeout=5000000 tcp-timeout=5000000"), "\(description)")
        _ = try Pipeline(description: description)
        #expect(SourceConfiguration.redacted("rtsp://u:p@host:554/x") == "rtsp://***@host:554/x")
        #expect(throws: IngestError.self) { try SourceConfiguration(.rtsp(.init(url: "http://x"))).pipelineDescription() }
    }

    @Test("every kind fills its built-in template into a description GStreamer parses")
    func allKindsParse() throws {
        let inputs: [SourceConfiguration.Input] = [
            .file(.init(path: "/tmp/some clip.mp4")),
            .file(.init(path: "/tmp/x.webm", realtime: true)),
            .rtsp(.init(url: "rtsp://127.0.0.1:1/x")),
            .v4l2(.init(device: "/dev/video0", format: .mjpeg, width: 1280, height: 720, framerate: 30)),
            .v4l2(.init(format: .raw("YUY2"))),
            .test(.init(pattern: "ball", live: true, frameCount: 10)),
            .custom(.init(description: "videotestsrc num-buffers=1", live: false)),
        ]
        for input in inputs {
            for output in [OutputFormat.modelInput, .original] {
                let description = try SourceConfiguration(input, output: output).pipelineDescription()
                #expect(!description.contains("{"), "\(description)")
                _ = try Pipeline(description: description)
            }
        }
        let camera = try SourceConfiguration(.v4l2(.init(device: "/dev/video2", width: 1280, framerate: 30))).pipelineDescription()
        #expect(camera.hasPrefix(#"v4l2src device="/dev/video2" ! capsfilter caps="video/x-raw,width=1280,framerate=30/1;image/jpeg,width=1280,framerate=30/1" ! decodebin"#), "\(camera)")
        let uri = try SourceConfiguration(.file(.init(path: "/tmp/some clip.mp4"))).pipelineDescription()
        #expect(uri.hasPrefix(#"uridecodebin uri="file:///tmp/some%20clip.mp4" ! videoconvert ! video/x-raw,format=RGB ! videoscale"#), "\(uri)")
    }

    @Test("a template from a file with other placeholders is rejected for the kind")
    func customTemplateMismatch() throws {
        let template = try PipelineTemplate(name: "mine", text: "videotestsrc pattern={pattern} ! {output}")
        let config = SourceConfiguration(.test(.init()), template: template)
        #expect(throws: IngestError.self) { try config.pipelineDescription() }
    }
}

@Suite("Output size")
struct OutputSizeTests {
    struct Case: Sendable, CustomStringConvertible {
        var width, height, resizedWidth, resizedHeight: Int
        var description: String { "\(width)x\(height)" }
    }

    /// The four sizes of Tests/Fixtures/ingest/preprocess.json (torchvision T.Resize(360) run by the
    /// official pre-processing), read from the fixture.
    static func goldenCases() throws -> [Case] {
        let data = try Data(contentsOf: TestSupport.fixtures.appendingPathComponent("preprocess.json"))
        let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let images = json?["images"] as? [[String: Any]] ?? []
        return images.compactMap { image in
            guard let w = image["source_width"] as? Int, let h = image["source_height"] as? Int,
                let rw = image["resized_width"] as? Int, let rh = image["resized_height"] as? Int
            else { return nil }
            return Case(width: w, height: h, resizedWidth: rw, resizedHeight: rh)
        }
    }

    @Test("shorter side 360 with the longer side truncated, as torchvision's Resize(360)")
    func matchesTorchvisionGolden() throws {
        let cases = try Self.goldenCases()
        #expect(cases.count == 4)
        for c in cases {
            let size = OutputFormat.modelInput.targetSize(for: FrameSize(width: c.width, height: c.height))
            #expect(size == FrameSize(width: c.resizedWidth, height: c.resizedHeight), "\(c): got \(size)")
        }
    }

    @Test("odd, portrait, square and original sizes")
    func otherSizes() {
        // int(360*321/241) = int(479.502...) = 479; int(360*1920/1080) = 640; int(360*641/360) = 641.
        let model = OutputFormat.modelInput
        #expect(model.targetSize(for: FrameSize(width: 321, height: 241)) == FrameSize(width: 479, height: 360))
        #expect(model.targetSize(for: FrameSize(width: 360, height: 640)) == FrameSize(width: 360, height: 640))
        #expect(model.targetSize(for: FrameSize(width: 1080, height: 1920)) == FrameSize(width: 360, height: 640))
        #expect(model.targetSize(for: FrameSize(width: 500, height: 500)) == FrameSize(width: 360, height: 360))
        #expect(model.targetSize(for: FrameSize(width: 641, height: 360)) == FrameSize(width: 641, height: 360))
        #expect(OutputFormat.scaled(shorterSide: 240).targetSize(for: FrameSize(width: 854, height: 480)) == FrameSize(width: 427, height: 240))
        #expect(OutputFormat.original.targetSize(for: FrameSize(width: 853, height: 479)) == FrameSize(width: 853, height: 479))
    }

    @Test("reconnect delays double from the initial delay up to the cap")
    func backoff() {
        // Defaults: 0.5 s doubling, capped at 2 s (a returned server waits at most 2 s for the next attempt).
        let policy = SourceConfiguration.ReconnectPolicy()
        let delays = (1...8).map { policy.delay(beforeAttempt: $0) }
        #expect(delays == [500, 1000, 2000, 2000, 2000, 2000, 2000, 2000].map { Duration.milliseconds($0) }, "\(delays)")
        let custom = SourceConfiguration.ReconnectPolicy(initialDelay: .seconds(1), maxDelay: .seconds(30))
        #expect((1...8).map { custom.delay(beforeAttempt: $0) } == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
    }
}
