// ingest-bench: per-frame ingest overhead (demux + decode + scale + convert to RGB + copy out) of
// VideoIngest file sources, for generated H.264 clips, next to the 40 ms frame interval of 25 fps.
//
// Usage: swift run -c release ingest-bench [--frames N] [--repeat R]
// Clips are generated with gst-launch-1.0 (x264enc, I420, mp4) in a temporary folder each run.
import Foundation
import VideoIngest

struct Options {
    var frames = 250
    var repeats = 3
}

func parseOptions() -> Options? {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    while let flag = arguments.popFirst() {
        guard let value = arguments.popFirst().flatMap(Int.init), value > 0 else {
            print("usage: ingest-bench [--frames N] [--repeat R]   (\(flag) needs a positive integer)")
            return nil
        }
        switch flag {
        case "--frames": options.frames = value
        case "--repeat": options.repeats = value
        default:
            print("usage: ingest-bench [--frames N] [--repeat R]   (unknown option \(flag))")
            return nil
        }
    }
    return options
}

func generate(width: Int, height: Int, frames: Int, into folder: URL) throws -> String {
    let path = folder.appendingPathComponent("h264_\(width)x\(height).mp4").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["gst-launch-1.0", "-q"] + """
        videotestsrc num-buffers=\(frames) pattern=ball ! video/x-raw,width=\(width),height=\(height),framerate=25/1 \
        ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=veryfast ! mp4mux ! filesink location=\(path)
        """.split(separator: " ").map(String.init)
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw IngestError(.stream, "gst-launch-1.0 failed to make \(path)") }
    return path
}

/// CPU time (user + system) of the whole process, all threads, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

struct Measurement {
    var frames: Int
    var wall: Double
    var cpu: Double
}

func measure(path: String, output: OutputFormat, scaling: SourceConfiguration.Scaling) throws -> Measurement {
    let source = try VideoSource(SourceConfiguration(.file(.init(path: path)), output: output, scaling: scaling))
    let cpu0 = processCPUSeconds()
    let start = ContinuousClock.now
    try source.start()
    var frames = 0
    loop: while true {
        switch try source.next(timeout: .seconds(60)) {
        case .frame: frames += 1
        case .endOfStream: break loop
        case .timedOut: throw IngestError(.timeout, "no frame for 60 s")
        }
    }
    let wall = ContinuousClock.now - start
    let cpu = processCPUSeconds() - cpu0
    source.stop()
    return Measurement(frames: frames, wall: Double(wall.components.seconds) + Double(wall.components.attoseconds) * 1e-18, cpu: cpu)
}

func run(_ options: Options) throws {
    GStreamer.initialize()
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-bench-\(ProcessInfo.processInfo.processIdentifier)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    print("GStreamer \(GStreamer.version); \(ProcessInfo.processInfo.activeProcessorCount) CPUs; \(options.frames) frames per clip, best of \(options.repeats)")
    print("frame interval at 25 fps: 40.00 ms")
    print("input        output                             frames   wall ms/frame   CPU ms/frame   (CPU share of 40 ms)")
    for (width, height) in [(640, 360), (1920, 1080)] {
        let path = try generate(width: width, height: height, frames: options.frames, into: folder)
        let variants: [(String, OutputFormat, SourceConfiguration.Scaling)] = [
            ("RGB 640x360, scaling accurate", .modelInput, .accurate),
            ("RGB 640x360, scaling fast", .modelInput, .fast),
            ("RGB original size (no scaling)", .original, .accurate),
        ]
        for (name, output, scaling) in variants {
            var best: Measurement?
            for _ in 0..<options.repeats {
                let m = try measure(path: path, output: output, scaling: scaling)
                if best == nil || m.wall < best!.wall { best = m }
            }
            guard let m = best, m.frames > 0 else { continue }
            let wallMs = m.wall * 1000 / Double(m.frames), cpuMs = m.cpu * 1000 / Double(m.frames)
            let input = "\(width)x\(height)".padding(toLength: 12, withPad: " ", startingAt: 0)
            let label = name.padding(toLength: 34, withPad: " ", startingAt: 0)
            print(input + " " + label + String(format: "%5d   %13.2f   %12.2f   (%.0f%%)", m.frames, wallMs, cpuMs, cpuMs / 40 * 100))
        }
    }
}

if let options = parseOptions() {
    do { try run(options) } catch {
        print("ingest-bench: \(error)")
        exit(1)
    }
} else {
    exit(2)
}
