import ArgumentParser
import Foundation
import ReferFormer
import Tracking
import VideoIngest

/// `referstream segment`: a video file, a folder of frames or a live source → one 0/255 PNG mask per
/// frame and phrase, through the streaming engine (`Tracking.StreamTracker`).
struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment what phrases refer to in a video, a folder of frames or a live source; write PNG masks.",
        discussion: """
            Inputs: a video file (any container and codec GStreamer plays), a folder of PNG/JPEG images \
            (in name order; the masks keep the images' names), a file:// URI, an rtsp:// URL or a V4L2 \
            camera (/dev/videoN); live inputs run until --frames or --duration, or Ctrl-C. Frames are \
            resized exactly as the official pre-processing does (Pillow bilinear, shorter side 360, or the \
            size the model was trained at when its configuration says so) and normalised.

            Without --weights the bundled demo model runs (models/demo in a source checkout, \
            <prefix>/share/referstream/model when installed, or $REFERSTREAM_MODEL_DIR): a small \
            ReferFormer trained on synthetic clips of coloured shapes, for phrases such as "the red \
            circle" or "the small blue square" (models/demo/MODEL.md).

            The engine runs windows of --window frames every --stride frames (default \
            \(WindowConfiguration.default.length) and \(WindowConfiguration.default.stride)): the backbone \
            once per frame shared by every phrase, the per-frame stages once per frame and phrase, the \
            pixel decoder on each window; each phrase is followed across windows as one track. Memory is \
            bounded by the window, whatever the video's length. --whole-video runs the whole input as one \
            clip with one query per phrase, exactly the official inference_ytvos.py; it needs about 300 MB \
            per frame with the R50 model at 360 px, is refused when the estimate exceeds the available \
            memory, and --window N --stride N runs N-frame clips as inference_davis.py does with 36.

            --pixel-decoder incremental (opt-in, approximate) runs the pixel decoder once per new frame, \
            attending to the cached reduced keys/values of the window's earlier frames, instead of on \
            every window's frames: at --stride 1 the newest frame's mask is the exact one and a window \
            costs one frame of pixel decoder instead of --window (docs/incremental-pixel-decoder.md).

            Output: OUTPUT/<phrase>/<frame>.png (8-bit, 0 or 255, at the original frame size), where \
            <phrase> is p1, p2, … in the order of --text; OUTPUT/phrases.json lists per phrase its text \
            and, per frame, the track id, score, presence and box (pixels, x0 y0 x1 y1), and \
            "complete": false when the run was interrupted. With --overlay, OUTPUT/overlay/<frame>.png \
            shows each frame with every phrase's mask tinted over it. A non-empty OUTPUT is refused \
            unless --overwrite (which replaces p1/, p2/, …, overlay/ and phrases.json in it).

            Exit status: 0 when every frame was written; 1 on an error (one line on standard error, \
            starting with "error:"); 130 when interrupted with Ctrl-C (the frames completed so far are \
            kept); 64 for invalid arguments.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("A video file, a folder of frame images, a file:// URI, an rtsp:// URL or /dev/videoN.", valueName: "path"))
    var input: String

    @Option(name: .customLong("text"), help: ArgumentHelp("A referring phrase; repeat for several.", valueName: "phrase"))
    var texts: [String]

    @Option(help: ArgumentHelp("The folder to write the masks to (created if needed; must be empty unless --overwrite).", valueName: "dir"))
    var output: String

    @Option(help: ArgumentHelp("Frames per window (default \(WindowConfiguration.default.length)).", valueName: "n"))
    var window: Int?

    @Option(help: ArgumentHelp("New frames between windows, 1…window (default: the window, i.e. no overlap).", valueName: "n"))
    var stride: Int?

    @Option(name: .customLong("pixel-decoder"), help: ArgumentHelp("exact (official, default) or incremental (each frame's pixel decoder once, attending to cached earlier frames; approximate, cheaper).", valueName: "mode"))
    var pixelDecoder: PixelDecoderMode = .exact

    @Flag(name: .customLong("whole-video"), help: "The whole input as one clip (official Ref-YouTube-VOS inference; memory grows with the video).")
    var wholeVideo = false

    @Option(help: ArgumentHelp("Stop after this many frames.", valueName: "n"))
    var frames: Int?

    @Option(help: ArgumentHelp("Stop after this many seconds of video.", valueName: "s"))
    var duration: Double?

    @Option(name: .customLong("shorter-side"), help: ArgumentHelp(
        "The network input's shorter side in pixels. Default: the size the model was trained at when its configuration says so (the demo model: 192), else 360 (the official inference).",
        valueName: "px"))
    var shorterSide: Int?

    @Flag(help: "Also write each frame with the masks drawn over it (OUTPUT/overlay/<frame>.png).")
    var overlay = false

    @Flag(help: "Replace the results of an earlier run in OUTPUT.")
    var overwrite = false

    @Option(name: .customLong("max-memory"), help: ArgumentHelp("Gigabytes a --whole-video run may use (default: the memory available when it starts).", valueName: "gb"))
    var maxMemory: Double?

    func run() throws {
        let progress = SegmentProgress()
        do {
            try segment(progress)
        } catch let error as CLIError {
            progress.finish()
            printError("error: \(error.description.replacingOccurrences(of: "\n", with: " "))")
            throw ExitCode(1)
        }
    }

    /// The window from the options; errors say which option to fix.
    func windowConfiguration() throws -> WindowConfiguration {
        if wholeVideo {
            guard window == nil && stride == nil else { throw CLIError("--whole-video runs one clip: drop --window and --stride") }
            guard pixelDecoder == .exact else { throw CLIError("--whole-video is the official computation: drop --pixel-decoder incremental, or give a --window") }
            return .wholeVideo
        }
        let length = window ?? WindowConfiguration.default.length
        let configuration = WindowConfiguration(length: length, stride: stride ?? (window == nil ? WindowConfiguration.default.stride : length))
        guard length >= 1 else { throw CLIError("--window must be at least 1 frame, got \(length)") }
        guard (1...length).contains(configuration.stride) else {
            throw CLIError("--stride must be between 1 and the window (\(length) frames), got \(configuration.stride)")
        }
        return configuration
    }

    func checkArguments() throws {
        guard !texts.isEmpty else { throw CLIError("give at least one phrase with --text") }
        for (k, text) in texts.enumerated() where text.allSatisfy(\.isWhitespace) {
            throw CLIError("--text number \(k + 1) is empty: give the words that name the object")
        }
        if let frames, frames < 1 { throw CLIError("--frames must be at least 1, got \(frames)") }
        if let duration, !(duration > 0) { throw CLIError("--duration must be a positive number of seconds, got \(duration)") }
        if let maxMemory, !(maxMemory > 0) { throw CLIError("--max-memory must be a positive number of gigabytes, got \(maxMemory)") }
        if let shorterSide, shorterSide < CrossModalFPNDecoder.minimumFrameSide {
            throw CLIError("--shorter-side must be at least \(CrossModalFPNDecoder.minimumFrameSide), got \(shorterSide)")
        }
        try model.check()
    }

    private func segment(_ progress: SegmentProgress) throws {
        try checkArguments()
        let window = try windowConfiguration()
        let outputURL = URL(fileURLWithPath: output)
        try SegmentWriter.check(outputURL, overwrite: overwrite)
        let source = try SegmentInput(input)
        defer { source.stop() }
        if wholeVideo && source.isLive && frames == nil && duration == nil {
            throw CLIError("--whole-video needs an end: a live input has none, so add --frames or --duration")
        }
        // Decoding works before anything is written.
        guard let first = try source.next() else { throw CLIError("\(input) gave no frames") }

        let (tokenizer, model, files) = try self.model.load()
        try InferCommand.checkTokenizer(tokenizer, model: model)
        let (shorterSide, sideSource) = self.shorterSide.map { ($0, "--shorter-side") }
            ?? files.trainedShorterSide.map { ($0, "the size the model was trained at") } ?? (360, "the official default")
        printError("input: shorter side \(shorterSide) px (\(sideSource))")
        let configuration = TrackingConfiguration(window: window, shorterSide: shorterSide, pixelDecoderMode: pixelDecoder)
        let tracker = StreamTracker(engine: SegmentProgressModel(base: ReferFormerTrackingModel(model: model, tokenizer: tokenizer, shorterSide: shorterSide),
                                                                 progress: progress),
                                    configuration: configuration)
        let phrases = texts.enumerated().map { (id: "p\($0.offset + 1)", text: $0.element) }
        for phrase in phrases {
            do {
                try tracker.addPhrase(id: phrase.id, text: phrase.text)
            } catch {
                throw CLIError("the phrase \(jsonString(String(phrase.text.prefix(60)))) cannot be used: \(error)")
            }
        }

        let size = (height: first.height, width: first.width)
        let inputSize = FramePreprocessor.modelInputSize(originalHeight: size.height, originalWidth: size.width, shorterSide: shorterSide)
        let estimate = MemoryEstimate(configuration: model.configuration, inputSize: inputSize, phrases: phrases.count)
        let perFrame = estimate.bytesPerFrame + (overlay ? size.height * size.width * 3 : 0)
        var expected = source.frameCount.map { min($0, frames ?? .max) } ?? frames
        if wholeVideo, let count = expected { try checkMemory(frames: count, perFrame: perFrame, estimate: estimate, inputSize: inputSize) }

        let writer = SegmentWriter(folder: outputURL, phrases: phrases, overlay: overlay)
        try writer.prepare()
        Interrupt.install()
        progress.begin(total: expected, phrases: phrases.count, wholeVideo: window.isWholeVideo)

        var pixels: [Int: [UInt8]] = [:]
        var decoded = 0
        var interrupted = false
        var firstTime: Duration?
        let start = ContinuousClock.now
        // Frame by frame, so that writing a whole video's masks shows on the progress line too.
        func emit(_ masks: [TrackedMask]) throws {
            let frames = masks.reduce(into: [Int]()) { if $0.last != $1.frameIndex { $0.append($1.frameIndex) } }
            var start = masks.startIndex
            for (k, frame) in frames.enumerated() {
                let end = masks[start...].firstIndex { $0.frameIndex != frame } ?? masks.endIndex
                progress.stepStarted(.writing, frames: 1, item: (k + 1, frames.count))
                defer { progress.stepFinished() }
                try writer.write(Array(masks[start..<end]), name: source.frameName, pixels: pixels)
                pixels[frame] = nil
                progress.update(decoded: decoded, written: writer.framesWritten)
                start = end
            }
        }

        var next: VideoFrame? = first
        while let frame = next {
            if frame.width != size.width || frame.height != size.height {
                throw CLIError("frame \(source.frameName(decoded)) is \(frame.width)x\(frame.height) but the first was \(size.width)x\(size.height); all frames of a video must have one size")
            }
            if let limit = duration {
                let time = frame.presentationTime ?? (ContinuousClock.now - start)
                if firstTime == nil { firstTime = time }
                if (time - firstTime!).seconds >= limit { break }  // set just above
            }
            if overlay { pixels[decoded] = frame.pixels }
            decoded += 1
            if wholeVideo && expected == nil {
                try checkMemory(frames: decoded, perFrame: perFrame, estimate: estimate, inputSize: inputSize, soFar: true)
            }
            if expected == nil, decoded == 2, let total = source.duration, let t0 = firstPTS(first), let t1 = frame.presentationTime, t1 > t0 {
                expected = Int((total.seconds / (t1 - t0).seconds).rounded())
                progress.setTotal(expected.map { min($0, frames ?? .max) })
            }
            progress.update(decoded: decoded, written: writer.framesWritten)
            let stream = StreamFrame(pixels: frame.pixels, width: frame.width, height: frame.height, index: decoded - 1, timestamp: frame.presentationTime)
            do {
                try emit(try tracker.push(stream))
            } catch let error as TrackingError {
                throw CLIError("frame \(source.frameName(decoded - 1)): \(error)")
            }
            if Interrupt.requested { interrupted = true; break }
            if let frames, decoded >= frames { break }
            next = try source.next()
            if next == nil && Interrupt.requested { interrupted = true }
        }
        if !interrupted {
            if window.isWholeVideo { progress.setTotal(decoded) }  // every frame read is in the clip
            do {
                try emit(try tracker.flush())
            } catch let error as TrackingError {
                throw CLIError("the last window: \(error)")
            }
        }
        try writer.finish(input: input, window: window, complete: !interrupted)
        progress.finish()
        if interrupted {
            printError("interrupted: kept the masks of \(writer.framesWritten) frame(s) in \(output) (phrases.json says complete: false)")
            throw ExitCode(130)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        print(String(format: "%d frames, %d phrase(s), %d masks written to %@ in %.1f s (%.2f frames/s, %@)",
                     writer.framesWritten, phrases.count, writer.masksWritten, output, elapsed,
                     Double(writer.framesWritten) / max(elapsed, 1e-9), window.description))
        for (p, phrase) in phrases.enumerated() {
            print(String(format: "  %@  score %.3f  track(s) %@  %@", phrase.id, writer.meanScore(p),
                         writer.trackIDs(p).map(String.init).joined(separator: ","), jsonString(phrase.text)))
        }
    }

    private func firstPTS(_ frame: VideoFrame) -> Duration? { frame.presentationTime }

    /// Refuses a whole-video run whose estimated memory exceeds what the machine has available.
    private func checkMemory(frames: Int, perFrame: Int, estimate: MemoryEstimate, inputSize: (height: Int, width: Int), soFar: Bool = false) throws {
        guard let available = maxMemory.map({ Int($0 * 1e9) }) ?? Self.availableMemory() else { return }
        let needed = estimate.fixedBytes + frames * perFrame
        guard needed > available else { return }
        let gb = { (bytes: Int) in String(format: "%.*f GB", bytes < 100_000_000 ? 3 : 1, Double(bytes) / 1e9) }
        throw CLIError((soFar ? "after \(frames) frames, " : "") + "--whole-video on \(soFar ? "more than " : "")\(frames) frames needs about \(gb(needed)) (about \(String(format: "%.1f", Double(perFrame) / 1e6)) MB per frame at \(inputSize.width)x\(inputSize.height)) but \(gb(available)) is available: drop --whole-video to run bounded windows, or use --window N --stride N for N-frame clips (36 as inference_davis.py)")
    }

    /// MemAvailable of /proc/meminfo, in bytes.
    static func availableMemory() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kb = Int(fields[1]) { return kb * 1024 }
        }
        return nil
    }
}

extension PixelDecoderMode: ExpressibleByArgument {}
