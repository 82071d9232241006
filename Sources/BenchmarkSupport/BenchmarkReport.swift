// The result of `referstream-bench all` (`make bench`): a table for people and a JSON document for tools.
// Schema (docs/benchmarks.md, "JSON"): snake_case keys (property names avoid acronyms so that they
// round-trip), seconds and bytes, FLOP as GFLOP.
import Foundation

public struct BenchmarkReport: Codable, Sendable, Equatable {
    /// Identifies the document layout; bumped when a key changes meaning.
    public static let currentSchema = "referstream-bench.all/1"

    public var schema: String = BenchmarkReport.currentSchema
    public var machine: Machine
    public var input: Input
    public var sgemm: Sgemm
    /// Text encoder (per phrase) and the per-frame stages, in pipeline order.
    public var stages: [Stage]
    /// Sum of the per-frame stages (the text encoder excluded: it is cached per phrase).
    public var total: Stage
    public var peakRssBytes: Int
    public var stream: Stream?
    public var demo: Demo?

    public struct Machine: Codable, Sendable, Equatable {
        public var cpu: String
        public var threads: Int
        public var openblasCore: String
        /// 1-minute load average when the run started and when it ended (other processes share the cores).
        public var loadAverageStart: Double?
        public var loadAverageEnd: Double?

        public init(cpu: String, threads: Int, openblasCore: String, loadAverageStart: Double?, loadAverageEnd: Double?) {
            self.cpu = cpu
            self.threads = threads
            self.openblasCore = openblasCore
            self.loadAverageStart = loadAverageStart
            self.loadAverageEnd = loadAverageEnd
        }
    }

    public struct Input: Codable, Sendable, Equatable {
        public var model: String
        public var height: Int
        public var width: Int
        public var frames: Int
        public var tokens: Int
        /// Measured passes after one warm-up pass; every figure is their median.
        public var repeats: Int

        public init(model: String, height: Int, width: Int, frames: Int, tokens: Int, repeats: Int) {
            self.model = model
            self.height = height
            self.width = width
            self.frames = frames
            self.tokens = tokens
            self.repeats = repeats
        }
    }

    public struct Sgemm: Codable, Sendable, Equatable {
        public var shape: String
        public var seconds: Double
        public var gflopPerSecond: Double
        public var gflopPerCpuSecond: Double

        public init(_ baseline: SgemmBaseline) {
            shape = baseline.shape
            seconds = baseline.timing.wall
            gflopPerSecond = baseline.rate / 1e9
            gflopPerCpuSecond = baseline.ratePerCPU / 1e9
        }
    }

    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        /// "frame" (divided by the clip's frames) or "phrase" (the text encoder, once per phrase).
        public var per: String
        /// Median wall seconds and process CPU seconds (all threads).
        public var seconds: Double
        public var cpuSeconds: Double
        public var gflop: Double
        public var gflopPerSecond: Double
        /// GFLOP/s as a percentage of the same-run sgemm rate.
        public var percentOfSgemm: Double
        /// The same with CPU seconds on both sides (GFLOP per CPU-second against sgemm's): steadier when
        /// other processes share the cores.
        public var percentOfSgemmCpu: Double

        public init(name: String, per: String, timing: Timing, flops: Double, sgemmRate: Double, sgemmRatePerCpu: Double = 0) {
            self.name = name
            self.per = per
            seconds = timing.wall
            cpuSeconds = timing.cpu
            gflop = flops / 1e9
            gflopPerSecond = timing.wall > 0 ? flops / timing.wall / 1e9 : 0
            percentOfSgemm = timing.wall > 0 && sgemmRate > 0 ? flops / timing.wall / sgemmRate * 100 : 0
            percentOfSgemmCpu = timing.cpu > 0 && sgemmRatePerCpu > 0 ? flops / timing.cpu / sgemmRatePerCpu * 100 : 0
        }
    }

    public struct Stream: Codable, Sendable, Equatable {
        public var windowLength: Int
        public var windowStride: Int
        public var phrases: Int
        /// Wall and CPU seconds per emitted frame (`Tracking.StreamTracker`), over `measuredFrames` frames.
        public var secondsPerFrame: Double
        public var cpuSecondsPerFrame: Double
        public var measuredFrames: Int

        public init(windowLength: Int, windowStride: Int, phrases: Int, secondsPerFrame: Double, cpuSecondsPerFrame: Double, measuredFrames: Int) {
            self.windowLength = windowLength
            self.windowStride = windowStride
            self.phrases = phrases
            self.secondsPerFrame = secondsPerFrame
            self.cpuSecondsPerFrame = cpuSecondsPerFrame
            self.measuredFrames = measuredFrames
        }
    }

    public struct Demo: Codable, Sendable, Equatable {
        public var weights: String
        /// Source frames (width × height) and the shorter side they are resized to.
        public var sourceWidth: Int
        public var sourceHeight: Int
        public var shorterSide: Int
        public var windowLength: Int
        public var windowStride: Int
        public var framesPerSecond: Double
        public var cpuSecondsPerFrame: Double
        public var measuredFrames: Int

        public init(weights: String, sourceWidth: Int, sourceHeight: Int, shorterSide: Int, windowLength: Int, windowStride: Int,
                    framesPerSecond: Double, cpuSecondsPerFrame: Double, measuredFrames: Int) {
            self.weights = weights
            self.sourceWidth = sourceWidth
            self.sourceHeight = sourceHeight
            self.shorterSide = shorterSide
            self.windowLength = windowLength
            self.windowStride = windowStride
            self.framesPerSecond = framesPerSecond
            self.cpuSecondsPerFrame = cpuSecondsPerFrame
            self.measuredFrames = measuredFrames
        }
    }

    public init(machine: Machine, input: Input, sgemm: Sgemm, stages: [Stage], total: Stage, peakRssBytes: Int,
                stream: Stream? = nil, demo: Demo? = nil) {
        self.machine = machine
        self.input = input
        self.sgemm = sgemm
        self.stages = stages
        self.total = total
        self.peakRssBytes = peakRssBytes
        self.stream = stream
        self.demo = demo
    }

        // MARK: JSON

    /// Pretty-printed JSON with sorted snake_case keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> BenchmarkReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(BenchmarkReport.self, from: data)
    }

    /// Writes the JSON document, creating the folder if needed.
    public func write(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try jsonData().write(to: url, options: .atomic)
    }

    // MARK: Table

    /// The human-readable table `make bench` prints.
    public func table() -> String {
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            s.count >= n ? s : (left ? String(repeating: " ", count: n - s.count) + s : s + String(repeating: " ", count: n - s.count))
        }
        func f(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
        var lines: [String] = []
        lines.append("\(input.model) at \(input.height)×\(input.width), clip T=\(input.frames), \(input.tokens) tokens; median of \(input.repeats) passes")
        lines.append("\(machine.cpu); OpenBLAS core \(machine.openblasCore), \(machine.threads) threads; load average "
                     + "\(machine.loadAverageStart.map { f($0, 2) } ?? "?") at start, \(machine.loadAverageEnd.map { f($0, 2) } ?? "?") at end")
        lines.append("sgemm \(sgemm.shape) (same run): \(f(sgemm.gflopPerSecond, 1)) GFLOP/s (\(f(sgemm.gflopPerCpuSecond, 1)) per CPU-second)")
        lines.append("")
        lines.append(pad("stage", 22) + pad("per", 8) + pad("ms wall", 10, left: true) + pad("ms CPU", 10, left: true)
                     + pad("GFLOP", 9, left: true) + pad("GFLOP/s", 9, left: true) + pad("% sgemm", 9, left: true)
                     + pad("% (CPU)", 9, left: true))
        for stage in stages + [total] {
            lines.append(pad(stage.name, 22) + pad(stage.per, 8) + pad(f(stage.seconds * 1000, 1), 10, left: true)
                         + pad(f(stage.cpuSeconds * 1000, 1), 10, left: true) + pad(f(stage.gflop, 2), 9, left: true)
                         + pad(f(stage.gflopPerSecond, 1), 9, left: true) + pad(f(stage.percentOfSgemm, 0), 9, left: true)
                         + pad(f(stage.percentOfSgemmCpu, 0), 9, left: true))
        }
        lines.append("")
        lines.append("peak RSS \(peakRssBytes / 1_048_576) MiB")
        if let stream {
            lines.append("streaming (StreamTracker, window \(stream.windowLength)/\(stream.windowStride), \(stream.phrases) phrase): "
                         + "\(f(stream.secondsPerFrame, 3)) s per emitted frame (\(f(stream.cpuSecondsPerFrame, 3)) CPU s), \(stream.measuredFrames) frames")
        }
        if let demo {
            lines.append("demo model (\(demo.weights), \(demo.sourceWidth)×\(demo.sourceHeight) frames at shorter side \(demo.shorterSide), "
                         + "window \(demo.windowLength)/\(demo.windowStride)): \(f(demo.framesPerSecond, 1)) frames/s "
                         + "(\(f(demo.cpuSecondsPerFrame * 1000, 1)) CPU ms per frame), \(demo.measuredFrames) frames")
        }
        lines.append("% sgemm: GFLOP/s over the same-run sgemm GFLOP/s; % (CPU): GFLOP per CPU-second over sgemm's (steadier under load)")
        return lines.joined(separator: "\n")
    }
}
