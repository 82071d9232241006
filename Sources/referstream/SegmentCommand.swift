import ArgumentParser
import Foundation
import ReferFormer
import Tensor
import VideoIngest
import WireProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `referstream segment`: a video file or a folder of frames → one 0/255 PNG mask per frame and phrase,
/// as the official inference scripts produce them.
struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment what phrases refer to in a video file or a folder of frames; write PNG masks.",
        discussion: """
            Frames are decoded with GStreamer (any container and codec it plays, or a folder of PNG/JPEG \
            images in name order), resized exactly as the official pre-processing does (Pillow bilinear, \
            shorter side 360) and normalised. The backbone runs once per frame and is shared by every \
            phrase; each phrase is encoded once.

            By default the whole video is one clip, as inference_ytvos.py runs it (memory grows with the \
            video: about 30 MB per frame at 360 px); --clip-length N runs independent N-frame clips as \
            inference_davis.py does with 36, each with its own choice of query. Masks are written as \
            OUTPUT/<phrase>/<frame>.png (8-bit, 0 or 255, at the original frame size), where <phrase> \
            is p1, p2, … in the order of --text; OUTPUT/phrases.json maps them to the texts and scores. \
            With --overlay, OUTPUT/overlay/<frame>.png shows each frame with every phrase's mask tinted \
            over it (one colour per phrase, listed in phrases.json).
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("A video file, or a folder of frame images.", valueName: "path"))
    var input: String

    @Option(name: .customLong("text"), help: ArgumentHelp("A referring phrase; repeat for several.", valueName: "phrase"))
    var texts: [String]

    @Option(help: ArgumentHelp("The folder to write the masks to (created if needed).", valueName: "dir"))
    var output: String

    @Option(name: .customLong("clip-length"), help: ArgumentHelp("Frames per clip (default: the whole video).", valueName: "n"))
    var clipLength: Int?

    @Option(name: .customLong("shorter-side"), help: ArgumentHelp("The network input's shorter side in pixels.", valueName: "px"))
    var shorterSide = 360

    @Flag(help: "Also write each frame with the masks drawn over it (OUTPUT/overlay/<frame>.png).")
    var overlay = false

    /// Overlay colours, one per phrase in order (repeating after the last).
    static let palette: [(UInt8, UInt8, UInt8)] = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240)]

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("give at least one phrase with --text") }
        if let clipLength, clipLength < 1 { throw ValidationError("--clip-length must be at least 1") }
        guard shorterSide >= CrossModalFPNDecoder.minimumFrameSide else {
            throw ValidationError("--shorter-side must be at least \(CrossModalFPNDecoder.minimumFrameSide)")
        }
    }

    func run() throws {
        do {
            try segment()
        } catch let error as CLIError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    private func segment() throws {
        var source = try FrameReader(path: input)  // fail on a bad input before loading the model
        let (tokenizer, model) = try self.model.load()
        let phrases = try texts.map { text -> EncodedText in
            do {
                return try model.encodeText(ids: try ModelOptions.ids(text, tokenizer: tokenizer, model: model))
            } catch let error as ReferFormerError {
                throw CLIError("the phrase \(jsonString(text)): \(error)")
            }
        }
        let outputURL = URL(fileURLWithPath: output)
        let folders = (1...texts.count).map { outputURL.appendingPathComponent("p\($0)") }
        let overlayFolder = outputURL.appendingPathComponent("overlay")
        do {
            for folder in folders + (overlay ? [overlayFolder] : []) {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
        } catch {
            throw CLIError("cannot create \(output): \(error.localizedDescription)")
        }

        let preprocessor = try FramePreprocessor(options: .init(shorterSide: shorterSide))
        let progress = Progress(total: source.frameCount, duration: source.duration)
        var clip: [BackboneFeatures] = []
        var clipPixels: [[UInt8]] = []  // original RGB of the clip's frames, kept only for --overlay
        var clipStart = 0
        var originalSize: (height: Int, width: Int)?
        var scores = [[Float]](repeating: [], count: texts.count)
        var written = 0
        let start = ContinuousClock.now

        func finishClip() throws {
            guard !clip.isEmpty, let size = originalSize else { return }
            let features = BackboneFeatures.concatenating(clip)
            let input = FramePreprocessor.modelInputSize(originalHeight: size.height, originalWidth: size.width, shorterSide: shorterSide)
            let perFrame = size.height * size.width
            for (p, text) in phrases.enumerated() {
                let out: ReferFormerModel.Output
                do {
                    out = try model.forward(features: features, text: text, imageSize: input)
                } catch {
                    throw CLIError("\(error)")
                }
                let post = MaskPostProcessing.process(predLogits: out.predLogits, predMasks: out.predMasks, originalSize: size)
                scores[p].append(post.scores[post.queryIndex])
                let masks = post.binaryMasks()
                if overlay { Self.tint(&clipPixels, masks: masks, perFrame: perFrame, color: Self.palette[p % Self.palette.count]) }
                for t in 0..<clip.count {
                    let pixels = Array(masks[(t * perFrame)..<((t + 1) * perFrame)])
                    let png: [UInt8]
                    do {
                        png = PNG.encode(try BinaryMask(width: size.width, height: size.height, pixels: pixels))
                    } catch {
                        throw CLIError("cannot encode a mask: \(error)")
                    }
                    let file = folders[p].appendingPathComponent(String(format: "%05d.png", clipStart + t))
                    guard FileManager.default.createFile(atPath: file.path, contents: Data(png)) else {
                        throw CLIError("cannot write \(file.path)")
                    }
                    written += 1
                }
            }
            for (t, pixels) in clipPixels.enumerated() {
                let file = overlayFolder.appendingPathComponent(String(format: "%05d.png", clipStart + t))
                guard FileManager.default.createFile(atPath: file.path, contents: Data(PNG.encodeRGB(width: size.width, height: size.height, pixels: pixels))) else {
                    throw CLIError("cannot write \(file.path)")
                }
            }
            clipStart += clip.count
            clip.removeAll()
            clipPixels.removeAll()
            progress.show(frames: clipStart, note: "clip done")
        }

        while let frame = try source.next() {
            if let size = originalSize, size != (frame.height, frame.width) {
                throw CLIError("frame \(clipStart + clip.count) is \(frame.width)x\(frame.height) but the first was \(size.width)x\(size.height); all frames of a video must have one size")
            }
            originalSize = (frame.height, frame.width)
            let normalised: Tensor
            do {
                normalised = try preprocessor.preprocess(frame.pixels, height: frame.height, width: frame.width)
            } catch {
                throw CLIError("cannot pre-process frame \(clipStart + clip.count): \(error)")
            }
            clip.append(model.backbone(normalised.unsqueezed(0)))
            if overlay { clipPixels.append(frame.pixels) }
            progress.show(frames: clipStart + clip.count, note: "backbone", time: frame.time)
            if let clipLength, clip.count == clipLength { try finishClip() }
        }
        try finishClip()
        progress.finish()
        guard clipStart > 0 else { throw CLIError("\(input) gave no frames") }

        let summary: [[String: Any]] = texts.enumerated().map { p, text in
            let color = Self.palette[p % Self.palette.count]
            return ["id": "p\(p + 1)", "text": text, "clip_scores": scores[p].map(Double.init),
                    "overlay_rgb": [Int(color.0), Int(color.1), Int(color.2)]]
        }
        if let json = try? JSONSerialization.data(withJSONObject: ["input": input, "frames": clipStart, "phrases": summary], options: [.prettyPrinted, .sortedKeys]) {
            _ = FileManager.default.createFile(atPath: outputURL.appendingPathComponent("phrases.json").path, contents: json)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        print(String(format: "%d frames, %d phrase(s), %d masks written to %@ in %.1f s (%.2f frames/s)",
                     clipStart, texts.count, written, output, elapsed, Double(clipStart) / max(elapsed, 1e-9)))
        for (p, text) in texts.enumerated() {
            let mean = scores[p].reduce(0, +) / Float(max(scores[p].count, 1))
            print(String(format: "  p%d  score %.3f  %@", p + 1, mean, jsonString(text)))
        }
    }
}

extension SegmentCommand {
    /// Blends `color` at 50 % into the clip's frames wherever `masks` (T·perFrame 0/1 bytes) is set:
    /// `(pixel + color + 1) / 2`, so an overlay pixel is exactly predictable.
    static func tint(_ frames: inout [[UInt8]], masks: [UInt8], perFrame: Int, color: (UInt8, UInt8, UInt8)) {
        let rgb = [UInt16(color.0), UInt16(color.1), UInt16(color.2)]
        for t in frames.indices {
            frames[t].withUnsafeMutableBufferPointer { pixels in
                for i in 0..<perFrame where masks[t * perFrame + i] != 0 {
                    for c in 0..<3 { pixels[3 * i + c] = UInt8((UInt16(pixels[3 * i + c]) + rgb[c] + 1) / 2) }
                }
            }
        }
    }
}

/// Frames of a video file (VideoSource, original size) or of a folder of images (one GStreamer decode
/// per file, in name order).
struct FrameReader {
    private let source: VideoSource?
    private var files: [URL]
    /// Frames in a folder; nil for a video (see `duration`).
    let frameCount: Int?
    /// A video's length, when the container says (for the progress line's ETA).
    let duration: Duration?

    init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(path) does not exist")
        }
        if isDirectory.boolValue {
            let extensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"]
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                .map { URL(fileURLWithPath: path).appendingPathComponent($0) }
            guard !files.isEmpty else { throw CLIError("the folder \(path) has no PNG or JPEG frames") }
            frameCount = files.count
            duration = nil
            source = nil
        } else {
            files = []
            frameCount = nil
            duration = Self.probeDuration(path)
            do {
                let s = try VideoSource(.init(.file(.init(path: path)), output: .original))
                try s.start()
                source = s
            } catch {
                throw CLIError("cannot open the video \(path): \(error)")
            }
        }
    }

    /// Prerolls the file in a throwaway pipeline to read its duration (nil when unknown).
    static func probeDuration(_ path: String) -> Duration? {
        let escaped = path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        guard let pipeline = try? Pipeline(description: "filesrc location=\"\(escaped)\" ! decodebin ! fakesink sync=false"),
              (try? pipeline.pause()) != nil else { return nil }
        defer { pipeline.stop() }
        return pipeline.duration()
    }

    /// The next frame (RGB at the original size, with its presentation time when known), nil at the end.
    mutating func next() throws -> (pixels: [UInt8], height: Int, width: Int, time: Duration?)? {
        if let source {
            while true {
                do {
                    switch try source.next(timeout: .seconds(30)) {
                    case .frame(let frame): return (frame.pixels, frame.height, frame.width, frame.presentationTime)
                    case .endOfStream: return nil
                    case .timedOut: continue
                    }
                } catch {
                    throw CLIError("cannot decode the video: \(error)")
                }
            }
        }
        guard !files.isEmpty else { return nil }
        let file = files.removeFirst()
        let escaped = file.path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        do {
            let pipeline = try Pipeline(description: "filesrc location=\"\(escaped)\" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false")
            let reader = try AppSinkReader(pipeline: pipeline)
            try pipeline.play()
            defer { pipeline.stop() }
            switch try reader.pull(timeoutNanoseconds: 30_000_000_000) {
            case .frame(let frame): return (frame.pixels, frame.height, frame.width, nil)
            case .endOfStream, .timeout:
                throw pipeline.popError(timeoutNanoseconds: 0) ?? IngestError(.badSample, "no image decoded")
            }
        } catch {
            throw CLIError("cannot decode \(file.path): \(error)")
        }
    }
}

/// One progress line on standard error, redrawn in place, only when it is a terminal.
final class Progress {
    let total: Int?
    let duration: Duration?
    let enabled = isatty(STDERR_FILENO) == 1
    let start = ContinuousClock.now
    private var lastTime: Duration?

    init(total: Int?, duration: Duration? = nil) {
        self.total = total
        self.duration = duration
    }

    /// - Parameter time: the presentation time of the latest frame of a video (for the ETA).
    func show(frames: Int, note: String, time: Duration? = nil) {
        guard enabled else { return }
        if let time { lastTime = time }
        let elapsed = (ContinuousClock.now - start).seconds
        let fps = Double(frames) / max(elapsed, 1e-9)
        var line = String(format: "\r%d", frames)
        if let total {
            let eta = Double(total - frames) / max(fps, 1e-9)
            line += String(format: "/%d frames  %.2f fps  ETA %.0f s", total, fps, eta)
        } else if let duration, let done = lastTime, duration.seconds > 0, done.seconds > 0 {
            // Fraction of the video decoded so far, from the presentation times.
            let fraction = min(1, done.seconds / duration.seconds)
            line += String(format: " frames (%.0f %%)  %.2f fps  ETA %.0f s", fraction * 100, fps, elapsed * (1 - fraction) / fraction)
        } else {
            line += String(format: " frames  %.2f fps", fps)
        }
        FileHandle.standardError.write(Data((line + "  (\(note))\u{1B}[K").utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
