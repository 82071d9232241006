// transport-bench: COCO RLE encode + publish rate on one thread, in release mode:
//   swift run -c release transport-bench [seconds-per-case]
// For each mask size and shape it reports: RLE encode alone, the full message (RLE + JSON header +
// topic), and the full message sent on a PUB socket with a connected SUB that drains it on another
// thread (the publisher's own thread does exactly this work per mask).
import Foundation
import Transport
import WireProtocol
import ZeroMQ

let secondsPerCase = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 2

/// An ellipse covering about a fifth of the frame, like a person in view.
func ellipse(width: Int, height: Int) -> BinaryMask {
    var mask = BinaryMask(width: width, height: height)
    let cx = Double(width) * 0.45, cy = Double(height) * 0.55, rx = Double(width) * 0.18, ry = Double(height) * 0.35
    for y in 0..<height {
        for x in 0..<width {
            let dx = (Double(x) - cx) / rx, dy = (Double(y) - cy) / ry
            if dx * dx + dy * dy < 1 { mask[x, y] = true }
        }
    }
    return mask
}

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), so that rates mean "on one core" even when
/// the machine is shared; wall-clock rates are printed beside them.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func measure(_ name: String, _ body: () -> Void) {
    for _ in 0..<20 { body() }  // warm up
    var count = 0
    let start = ContinuousClock.now
    let cpuStart = threadCPUSeconds()
    let budget = Duration.milliseconds(Int(secondsPerCase * 1000))
    while ContinuousClock.now - start < budget {
        for _ in 0..<50 { body() }
        count += 50
    }
    let cpu = threadCPUSeconds() - cpuStart
    let elapsed = ContinuousClock.now - start
    let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    print(String(format: "  %-26@ %9.0f masks/s per CPU-second (%7.1f µs CPU/mask)  %9.0f masks/s wall",
                 name as NSString, Double(count) / cpu, 1e6 * cpu / Double(count), Double(count) / wall))
}

let context = try Context()
let publisher = try Socket(context, .pub)
try publisher.set(.sendHighWaterMark(1000))
try publisher.bind("tcp://127.0.0.1:*")
let endpoint = try publisher.lastEndpoint()
let draining = Thread {
    guard let sub = try? Socket(context, .sub) else { return }
    try? sub.set(.receiveHighWaterMark(1000))
    try? sub.subscribe()
    try? sub.connect(endpoint)
    // Drain until the publisher has been quiet for 2 s (the end of the benchmark).
    while (try? sub.receive(timeoutMilliseconds: 2000)) != nil {}
}
draining.start()
Thread.sleep(forTimeInterval: 0.2)

print("transport-bench: libzmq \(Context.version), \(secondsPerCase) s per case, one publishing thread")
for (width, height) in [(640, 360), (1920, 1080)] {
    var rng = SystemRandomNumberGenerator()
    let shapes: [(String, BinaryMask)] = [
        ("ellipse", ellipse(width: width, height: height)),
        ("empty", BinaryMask(width: width, height: height)),
        ("noise 1%", try BinaryMask(width: width, height: height, pixels: (0..<(width * height)).map { _ in
            UInt8.random(in: 0..<100, using: &rng) == 0 ? 1 : 0 })),
    ]
    for (shape, mask) in shapes {
        print("\(width)x\(height) \(shape): RLE \(COCORLE.encode(mask).count) bytes")
        measure("RLE encode") { _ = COCORLE.encode(mask) }
        let frame = MaskFrame(stream: "cam0", phraseID: "p1", phrase: "the person in the red jacket", trackID: 1,
                              frame: 1, pts: 0.04, captureTime: 1.7e9, score: 0.9, box: [10, 20, 100, 200], present: true, mask: mask)
        var sequence: UInt64 = 0
        measure("RLE + header (message)") {
            sequence += 1
            _ = MaskMessage.frames(frame, sequence: sequence, encoding: .rle, publishTime: 1.7e9)
        }
        measure("RLE + header + PUB send") {
            sequence += 1
            _ = try? publisher.send(MaskMessage.frames(frame, sequence: sequence, encoding: .rle, publishTime: 1.7e9), dontWait: true)
        }
    }
}
