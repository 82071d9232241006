import Foundation
import Testing
import TestSupport
import WireProtocol

/// The package root, found from this file's path (never an absolute /work path).
let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url = url.deletingLastPathComponent()
    }
    return url
}()

/// The Python with pyzmq and pycocotools: `REFERSTREAM_PYTHON`, else `<package root>/.venv/bin/python`.
func pythonPath() -> String? {
    if let path = ProcessInfo.processInfo.environment["REFERSTREAM_PYTHON"], !path.isEmpty { return path }
    let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
}

/// A Python helper script from Tests/TransportTests/Python, with its stdout read line by line.
final class PythonScript {
    let process = Process()
    private let output = Pipe()
    private var buffer: [UInt8] = []

    /// - Parameter script: a file in Tests/TransportTests/Python, or a path from the package root.
    init(_ script: String, _ arguments: [String]) throws {
        guard let python = pythonPath() else {
            throw TestFailure("no Python: set REFERSTREAM_PYTHON (make test does) or create .venv (make deps)")
        }
        process.executableURL = URL(fileURLWithPath: python)
        let path = script.contains("/") ? script : "Tests/TransportTests/Python/\(script)"
        process.arguments = [packageRoot.appendingPathComponent(path).path] + arguments
        process.standardOutput = output
        // Line by line, even when stdout is a pipe (examples/subscribe.py does not flush).
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        try process.run()
        // Never hang a test on a silent script: stop it after the deadline, which ends its output.
        let process = self.process
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(deadlineSeconds)) {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// Seconds after which a script is terminated.
    let deadlineSeconds = 120

    /// The next line of output, nil at end of output.
    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                if buffer.isEmpty { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer += chunk
        }
    }

    func finish() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Stops the script (SIGKILL: a test runner may start children with SIGTERM blocked).
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The masks every codec test publishes: empty, full, single pixel, odd sizes, 1080p blobs, thin diagonals.
func testMasks() -> [(String, BinaryMask)] {
    var rng = SplitMix64(seed: 8)
    var masks: [(String, BinaryMask)] = []
    masks.append(("empty 640x360", BinaryMask(width: 640, height: 360)))
    masks.append(("full 640x360", (try? BinaryMask(width: 640, height: 360, pixels: [UInt8](repeating: 1, count: 640 * 360)))!))
    var single = BinaryMask(width: 640, height: 360)
    single[639, 359] = true
    masks.append(("single pixel at the last index", single))
    var first = BinaryMask(width: 7, height: 5)
    first[0, 0] = true
    masks.append(("single pixel at (0,0) of 7x5", first))
    masks.append(("1x1 set", (try? BinaryMask(width: 1, height: 1, pixels: [1]))!))
    for (w, h) in [(3, 7), (641, 359), (127, 1), (1, 129)] {
        let pixels = (0..<(w * h)).map { _ in UInt8.random(in: 0...1, using: &rng) }
        masks.append(("random \(w)x\(h)", (try? BinaryMask(width: w, height: h, pixels: pixels))!))
    }
    var blobs = BinaryMask(width: 1920, height: 1080)
    for _ in 0..<5 {
        let cx = Int.random(in: 0..<1920, using: &rng), cy = Int.random(in: 0..<1080, using: &rng)
        let r = Int.random(in: 20...300, using: &rng)
        for y in max(0, cy - r)..<min(1080, cy + r) {
            for x in max(0, cx - r)..<min(1920, cx + r) where (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r {
                blobs[x, y] = true
            }
        }
    }
    masks.append(("1080p blobs", blobs))
    var diagonals = BinaryMask(width: 1920, height: 1080)
    for i in 0..<1080 {
        diagonals[i, i] = true
        diagonals[1919 - i, i] = true
        diagonals[(i * 7) % 1920, i] = true
    }
    masks.append(("1080p thin diagonal lines", diagonals))
    return masks
}

/// np.packbits of a mask's row-major pixels, to compare with what Python decoded.
func packed(_ mask: BinaryMask) -> [UInt8] { BitPacking.encode(mask) }
