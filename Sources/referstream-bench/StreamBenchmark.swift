// `referstream-bench stream`: the streaming engine (Tracking.StreamTracker) on the real R50
// configuration with random weights at 360×640: seconds per emitted frame for window lengths T and
// strides s, next to re-running the whole model on every window (same run), for 1…K phrases, with the
// stage breakdown and the peak RSS; each row in every --pixel-decoder mode (exact, incremental), or
// with --weights on a real model (models/demo). Release builds only (`swift run -c release referstream-bench stream`).
import ArgumentParser
import BenchmarkSupport
import Foundation
import ReferFormer
import Tensor
import Tokenizer
import Tracking

struct StreamBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Seconds per emitted frame of the streaming engine for windows T/s and phrase counts, next to re-running every window.")

    @Option(help: "Threads for OpenBLAS and for the tensor runtime's parallel loops.")
    var threads: Int = 2

    @Option(help: "Frame height and width (at 360 px no resize is needed).")
    var height: Int = 360
    @Option var width: Int = 640

    @Option(help: "Window lengths T, comma-separated; each is run with s = 1 and s = T.")
    var windows: String = "1,2,3,5,8"

    @Option(help: "Phrase counts for the multi-phrase rows (run with --phrase-window).")
    var phrases: String = "1,2,4"

    @Option(name: .customLong("phrase-window"), help: "T for the multi-phrase rows (s = T).")
    var phraseWindow: Int = 3

    @Option(help: "Windows measured after the first (which fills the window and is not counted).")
    var measured: Int = 1

    @Flag(name: .customLong("no-rerun"), help: "Skip the re-run-every-window baseline.")
    var noRerun = false

    @Option(help: "A tokenizer folder (any vocabulary below roberta-base's 50 265 ids).")
    var tokenizer: String = "Tests/Fixtures/tokenizer"

    @Option(name: .customLong("pixel-decoder"), help: "Pixel-decoder modes measured on every row, comma-separated: exact, incremental.")
    var pixelDecoder: String = "exact"

    @Option(help: "Weights of a real model (.safetensors or .pth, e.g. models/demo/weights.safetensors) instead of random R50 weights; give its --tokenizer.")
    var weights: String?

    @Option(name: .customLong("model-config"), help: "The real model's configuration JSON (e.g. models/demo/config.json).")
    var modelConfig: String?

    @Option(name: .customLong("shorter-side"), help: "The network input's shorter side (default: the frame's, no resize).")
    var shorterSide: Int?

    func run() throws {
        TensorRuntime.defaultThreadCount = threads
        let model = try weights.map { path throws in
            try ReferFormerModel.load(weights: URL(fileURLWithPath: path), configurationFile: modelConfig.map { URL(fileURLWithPath: $0) })
        } ?? ReferFormerModel(configuration: ReferFormerConfiguration(), weights: StateDict(generating: StagePass.randomParameter))
        let c = model.configuration
        let words = try RobertaTokenizer(directory: URL(fileURLWithPath: tokenizer))
        let side = shorterSide ?? min(height, width)
        let engine = ReferFormerTrackingModel(model: model, tokenizer: words, shorterSide: side)
        let modes = try pixelDecoder.split(separator: ",").map { name in
            guard let mode = PixelDecoderMode(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--pixel-decoder: unknown mode '\(name)'; use exact, incremental")
            }
            return mode
        }
        let texts = ["the man in the red jacket on the left", "a black dog running", "the white car", "the ball"]
        say("streaming engine, \(weights ?? "random weights: ResNet-50"), hidden \(c.hiddenDim), \(c.encLayers)+\(c.decLayers) layers, "
              + "\(c.numQueries) queries; frames \(width)×\(height), shorter side \(side); OpenBLAS \(TensorRuntime.kernelName), \(threads) threads")
        say("per emitted frame, wall seconds (stage seconds per emitted frame: backbone / per-phrase stages / pixel decoder + mask head)")
        say("   T   s  K  pixel dec.    engine wall (CPU)  [bb / det / win]        re-run wall (CPU)  [bb / det / win]   CPU ratio  peak RSS")

        var rows: [(window: WindowConfiguration, phrases: Int)] = []
        for t in windows.split(separator: ",").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            rows.append((WindowConfiguration(length: t, stride: 1), 1))
            if t > 1 { rows.append((WindowConfiguration(length: t, stride: t), 1)) }
        }
        for k in phrases.split(separator: ",").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            rows.append((WindowConfiguration(length: phraseWindow, stride: phraseWindow), k))
        }
        for row in rows {
            let k = min(row.phrases, texts.count)
            // The baseline once per row, then each mode against it (same run).
            let rerun = noRerun ? nil : try Self.measure(StreamTracker(engine: RerunEveryWindow(inner: engine), configuration: .init(window: row.window, shorterSide: side)),
                                                         texts: Array(texts.prefix(k)), width: width, height: height, measured: measured)
            for mode in modes {
                let streamed = try Self.measure(StreamTracker(engine: engine, configuration: .init(window: row.window, shorterSide: side, pixelDecoderMode: mode)),
                                                texts: Array(texts.prefix(k)), width: width, height: height, measured: measured)
                var line = String(format: "%4d %3d %2d  ", row.window.length, row.window.stride, k) + mode.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
                line += String(format: "  %7.2f (%6.3f)  [%.2f / %.2f / %.2f]", streamed.perFrame, streamed.cpu, streamed.backbone, streamed.detection, streamed.window)
                if let rerun {
                    line += String(format: "   %7.2f (%6.3f)  [%.2f / %.2f / %.2f]  %5.2f×", rerun.perFrame, rerun.cpu, rerun.backbone, rerun.detection, rerun.window,
                                   rerun.cpu / streamed.cpu)
                } else {
                    line += "                                      "
                }
                line += String(format: "  %6.0f MB", Double(ProcessFigures.peakRSS()) / 1e6)
                say(line)
            }
        }
        say("peak RSS is the process's high-water mark so far (run one row alone, e.g. --windows 8 --phrases '' --no-rerun, for its own figure)")
    }

    /// One line on standard output, unbuffered (rows appear as they are measured).
    func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    /// Wall seconds per emitted frame, process CPU seconds per emitted frame (all threads; steadier than
    /// wall time when other processes share the cores), and the stages' wall seconds per emitted frame.
    struct Measurement { var perFrame: Double; var cpu: Double; var backbone: Double; var detection: Double; var window: Double; var frames: Int }

    /// Pushes `width`×`height` frames until the first window ran (not counted), then `measured` more
    /// windows; the figures are per emitted frame of one phrase.
    static func measure(_ tracker: StreamTracker, texts: [String], width: Int, height: Int, measured: Int) throws -> Measurement {
        for (i, text) in texts.enumerated() { try tracker.addPhrase(id: "p\(i)", text: text) }
        var rng = UInt64(0x9E3779B97F4A7C15)
        let pixels = (0..<(width * height * 3)).map { _ -> UInt8 in
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: rng >> 56)
        }
        var index = 0
        func push() throws -> Int {
            defer { index += 1 }
            return try tracker.push(StreamFrame(pixels: pixels, width: width, height: height, index: index)).count
        }
        while tracker.statistics.windowsRun == 0 { _ = try push() }
        let before = tracker.statistics
        let start = Clock.now()
        var emitted = 0
        while tracker.statistics.windowsRun < 1 + measured { emitted += try push() }
        let elapsed = start.elapsed()
        let after = tracker.statistics
        let frames = Double(emitted / max(texts.count, 1))
        return Measurement(perFrame: elapsed.wall / frames, cpu: elapsed.cpu / frames, backbone: (after.backboneSeconds - before.backboneSeconds) / frames,
                           detection: (after.detectionSeconds - before.detectionSeconds) / frames,
                           window: (after.windowSeconds - before.windowSeconds) / frames, frames: emitted / max(texts.count, 1))
    }
}

/// The baseline: the whole model re-run on every window (the backbone declared per clip makes the
/// tracker recompute every frame's backbone and per-phrase stages for each window).
struct RerunEveryWindow: TrackingModel {
    let inner: ReferFormerTrackingModel
    var backboneScope: BackboneScope { .perClip }
    func encode(text: String) throws(TrackingError) -> ReferFormerTrackingModel.Text { try inner.encode(text: text) }
    func features(of frames: [StreamFrame]) throws(TrackingError) -> [ReferFormerTrackingModel.Features] { try inner.features(of: frames) }
    func detect(_ features: [ReferFormerTrackingModel.Features], text: ReferFormerTrackingModel.Text) throws(TrackingError) -> [ReferFormerTrackingModel.Detections] {
        try inner.detect(features, text: text)
    }
    func queries(_ detections: ReferFormerTrackingModel.Detections) -> FrameQueries { inner.queries(detections) }
    func maskLogits(_ features: [ReferFormerTrackingModel.Features], detections: [ReferFormerTrackingModel.Detections],
                    text: ReferFormerTrackingModel.Text) throws(TrackingError) -> Tensor {
        try inner.maskLogits(features, detections: detections, text: text)
    }
}
