import BenchmarkSupport
import Foundation
import Testing

@Suite struct BenchmarkReportTests {
    static func sample() -> BenchmarkReport {
        let stage = BenchmarkReport.Stage(name: "backbone", per: "frame", timing: Timing(wall: 0.25, cpu: 0.5), flops: 50e9, sgemmRate: 200e9,
                                              sgemmRatePerCpu: 125e9)
        return BenchmarkReport(
            machine: .init(cpu: "test CPU", threads: 2, openblasCore: "SkylakeX", loadAverageStart: 1.5, loadAverageEnd: 2.25),
            input: .init(model: "R50", height: 360, width: 640, frames: 2, tokens: 16, repeats: 3),
            sgemm: .init(SgemmBaseline(m: 2048, n: 2048, k: 2048, timing: Timing(wall: 0.1, cpu: 0.2))),
            stages: [stage], total: stage, peakRssBytes: 1_500_000_000,
            stream: .init(windowLength: 3, windowStride: 3, phrases: 1, secondsPerFrame: 1.75, cpuSecondsPerFrame: 3.4, measuredFrames: 6),
            demo: .init(weights: "models/demo/weights.safetensors", sourceWidth: 640, sourceHeight: 360, shorterSide: 96, windowLength: 3,
                        windowStride: 3, framesPerSecond: 20, cpuSecondsPerFrame: 0.09, measuredFrames: 30))
    }

    @Test func stageRatesFollowFromTimeAndFLOPs() {
        let stage = Self.sample().stages[0]
        #expect(stage.gflop == 50)
        #expect(stage.gflopPerSecond == 200)       // 50 GFLOP in 0.25 s
        #expect(stage.percentOfSgemm == 100)       // = the 200 GFLOP/s sgemm
        #expect(abs(stage.percentOfSgemmCpu - 80) < 1e-9)  // 100 GFLOP per CPU-second against 125
        let sgemm = Self.sample().sgemm
        #expect(sgemm.shape == "2048×2048×2048")
        #expect(abs(sgemm.gflopPerSecond - 2 * pow(2048.0, 3) / 0.1 / 1e9) < 1e-9)
    }

    /// The documented schema (docs/benchmarks.md): exactly these snake_case keys.
    @Test func jsonHasTheDocumentedKeys() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Self.sample().jsonData()) as? [String: Any])
        #expect(Set(object.keys) == ["schema", "machine", "input", "sgemm", "stages", "total", "peak_rss_bytes", "stream", "demo"])
        #expect(object["schema"] as? String == "referstream-bench.all/1")
        let machine = try #require(object["machine"] as? [String: Any])
        #expect(Set(machine.keys) == ["cpu", "threads", "openblas_core", "load_average_start", "load_average_end"])
        let sgemm = try #require(object["sgemm"] as? [String: Any])
        #expect(Set(sgemm.keys) == ["shape", "seconds", "gflop_per_second", "gflop_per_cpu_second"])
        let stage = try #require((object["stages"] as? [[String: Any]])?.first)
        #expect(Set(stage.keys) == ["name", "per", "seconds", "cpu_seconds", "gflop", "gflop_per_second", "percent_of_sgemm",
                                   "percent_of_sgemm_cpu"])
        let stream = try #require(object["stream"] as? [String: Any])
        #expect(Set(stream.keys) == ["window_length", "window_stride", "phrases", "seconds_per_frame", "cpu_seconds_per_frame", "measured_frames"])
        let demo = try #require(object["demo"] as? [String: Any])
        #expect(demo["frames_per_second"] as? Double == 20)
        #expect(demo["shorter_side"] as? Int == 96)
        #expect(object["peak_rss_bytes"] as? Int == 1_500_000_000)
    }

    @Test func jsonRoundTripsAndTableNamesEveryFigure() throws {
        let report = Self.sample()
        #expect(try BenchmarkReport.decode(report.jsonData()) == report)
        let table = report.table()
        #expect(table.contains("backbone"))
        #expect(table.contains("1430 MiB"))          // 1.5e9 bytes
        #expect(table.contains("1.750 s per emitted frame"))
        #expect(table.contains("20.0 frames/s"))
    }

    @Test func medianOfTimings() {
        let samples = [Timing(wall: 3, cpu: 1), Timing(wall: 1, cpu: 5), Timing(wall: 2, cpu: 3), Timing(wall: 10, cpu: 4)]
        #expect(Timing.median(samples) == Timing(wall: 2.5, cpu: 3.5))
        #expect(Timing.median(Array(samples.prefix(3))) == Timing(wall: 2, cpu: 3))
        #expect(Statistics.median([]) == 0)
    }
}
