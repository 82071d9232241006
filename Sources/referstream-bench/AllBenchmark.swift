// `referstream-bench all` (`make bench`): in one process, the figures of `model` (every stage of the
// real R50 configuration with random weights, analytic FLOPs, same-run sgemm), the streaming cost per
// emitted frame of that model through Tracking.StreamTracker with the default window, and the frames per
// second of the shipped demo model; prints one table and writes them as JSON.
import ArgumentParser
import BenchmarkSupport
import Foundation
import ReferFormer
import Tensor
import Tokenizer
import Tracking

struct AllBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Stages, FLOPs, sgemm, peak RSS, streaming cost and the demo model's frames per second: one table and a JSON file.",
        discussion: """
            The R50 figures use random weights with the official shapes (see `model`); streaming runs the \
            same model through StreamTracker with the default window on 640×360 frames with one phrase; \
            the demo model (--demo, a folder with weights.safetensors, config.json, vocab.json and \
            merges.txt) runs through StreamTracker at its training size. JSON schema: docs/benchmarks.md.
            """)

    @OptionGroup var options: StageOptions

    @Option(help: ArgumentHelp("Where to write the JSON report.", valueName: "file"))
    var json = "bench-out/bench.json"

    @Option(name: .customLong("stream-windows"), help: "Windows measured for the streaming figure after the first (which fills the window).")
    var streamWindows = 2

    @Option(help: ArgumentHelp("Tokenizer folder for the R50 streaming run (any vocabulary below roberta-base's).", valueName: "folder"))
    var tokenizer = "Tests/Fixtures/tokenizer"

    @Option(help: ArgumentHelp("The demo model's folder; an empty value skips it.", valueName: "folder"))
    var demo = "models/demo"

    @Option(name: .customLong("demo-shorter-side"), help: "Shorter side the demo model's frames are resized to (default: the size it was trained at, from its config.json; 96 when it does not say).")
    var demoShorterSide: Int?

    @Option(name: .customLong("demo-windows"), help: "Windows measured for the demo model after the first.")
    var demoWindows = 10

    func validate() throws {
        guard streamWindows > 0, demoWindows > 0, (demoShorterSide ?? 29) >= 29 else {
            throw ValidationError("--stream-windows and --demo-windows must be positive; --demo-shorter-side at least 29")
        }
    }

    func run() throws {
        let start = ProcessFigures.loadAverage()
        let model = try options.randomModel()
        var report = try options.measure(model: model, label: "ReferFormer R50 (random weights, official shapes)")
        report.machine.loadAverageStart = start
        say("stages measured (total \(String(format: "%.3f", report.total.seconds)) s per frame); streaming with the default window…")

        // Streaming: the same model, one phrase, the default window, frames that need no resize.
        let window = WindowConfiguration.default
        let (width, height) = (options.width, options.height)
        let words = try RobertaTokenizer(directory: URL(fileURLWithPath: tokenizer))
        let engine = ReferFormerTrackingModel(model: model, tokenizer: words, shorterSide: min(width, height))
        let streamed = try StreamBenchmark.measure(
            StreamTracker(engine: engine, configuration: .init(window: window, shorterSide: min(width, height))),
            texts: ["the man in the red jacket on the left"], width: width, height: height, measured: streamWindows)
        report.stream = .init(windowLength: window.length, windowStride: window.stride, phrases: 1, secondsPerFrame: streamed.perFrame,
                              cpuSecondsPerFrame: streamed.cpu, measuredFrames: streamed.frames)
        report.peakRssBytes = ProcessFigures.peakRSS()

        if !demo.isEmpty {
            let folder = URL(fileURLWithPath: demo)
            let weights = folder.appendingPathComponent("weights.safetensors")
            let demoModel: ReferFormerModel
            do {
                demoModel = try ReferFormerModel.load(weights: weights, configurationFile: folder.appendingPathComponent("config.json"))
            } catch {
                // The architecture is fully recoverable from the weights' shapes.
                say("warning: \(error); the demo model's architecture is inferred from its weights instead")
                demoModel = try ReferFormerModel.load(weights: weights, configurationFile: nil)
            }
            let demoWords = try RobertaTokenizer(directory: folder)
            let demoShorterSide = self.demoShorterSide
                ?? ReferFormerConfiguration.trainedShorterSide(contentsOf: folder.appendingPathComponent("config.json")) ?? 96
            let demoEngine = ReferFormerTrackingModel(model: demoModel, tokenizer: demoWords, shorterSide: demoShorterSide)
            let run = try StreamBenchmark.measure(
                StreamTracker(engine: demoEngine, configuration: .init(window: window, shorterSide: demoShorterSide)),
                texts: ["the red circle"], width: width, height: height, measured: demoWindows)
            report.demo = .init(weights: weights.relativePath, sourceWidth: width,
                                sourceHeight: height, shorterSide: demoShorterSide, windowLength: window.length,
                                windowStride: window.stride, framesPerSecond: 1 / run.perFrame, cpuSecondsPerFrame: run.cpu,
                                measuredFrames: run.frames)
        }
        report.machine.loadAverageEnd = ProcessFigures.loadAverage()
        say(report.table())
        try report.write(to: URL(fileURLWithPath: json))
        say("JSON written to \(json)")
    }

    /// Standard output, unbuffered (progress appears before the streaming runs start).
    func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
}
