// Timing, the same-run sgemm baseline and process figures shared by the referstream-bench subcommands.
import Dispatch
import Foundation
import Tensor

#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock and process CPU time (all threads), for figures that stay meaningful on a shared machine.
public struct Clock: Sendable {
    public var wall: UInt64
    public var cpu: Double

    public static func now() -> Clock {
        Clock(wall: DispatchTime.now().uptimeNanoseconds, cpu: processCPUSeconds())
    }

    /// Seconds since `self`: wall, and CPU of every thread of the process.
    public func elapsed() -> Timing {
        let end = Clock.now()
        return Timing(wall: Double(end.wall - wall) / 1e9, cpu: end.cpu - cpu)
    }

    /// CPU seconds of the whole process (CLOCK_PROCESS_CPUTIME_ID).
    public static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// One measured interval.
public struct Timing: Sendable, Equatable {
    public var wall: Double
    public var cpu: Double

    public init(wall: Double, cpu: Double) {
        self.wall = wall
        self.cpu = cpu
    }

    /// The median of each component (wall and CPU separately); zero for no samples.
    public static func median(_ samples: [Timing]) -> Timing {
        Timing(wall: Statistics.median(samples.map(\.wall)), cpu: Statistics.median(samples.map(\.cpu)))
    }

    /// The minimum of each component (wall and CPU separately).
    public static func best(_ samples: [Timing]) -> Timing {
        Timing(wall: samples.map(\.wall).min() ?? 0, cpu: samples.map(\.cpu).min() ?? 0)
    }
}

public enum Statistics {
    /// The median (mean of the middle two for an even count); 0 for an empty list.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted(), mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}

/// The attainable GEMM rate at this moment: OpenBLAS sgemm (through `Tensor.matmul`) on one shape.
public struct SgemmBaseline: Sendable {
    public var m: Int, n: Int, k: Int
    /// Median over the measured calls (one warm-up call first).
    public var timing: Timing

    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    /// FLOP per wall second.
    public var rate: Double { flops / timing.wall }
    /// FLOP per CPU second (all threads): comparable when other processes share the cores.
    public var ratePerCPU: Double { flops / timing.cpu }
    public var shape: String { "\(m)×\(n)×\(k)" }

    public init(m: Int, n: Int, k: Int, timing: Timing) {
        self.m = m
        self.n = n
        self.k = k
        self.timing = timing
    }

    /// Measures C(m×n) = A(m×k)·B(k×n), one warm-up call then `repeats` timed calls.
    public static func measure(m: Int = 2048, n: Int = 2048, k: Int = 2048, repeats: Int = 5) -> SgemmBaseline {
        let a = Tensor.randomNormal(shape: [m, k], seed: 1), b = Tensor.randomNormal(shape: [k, n], seed: 2)
        _ = matmul(a, b)
        var samples: [Timing] = []
        for _ in 0..<max(repeats, 1) {
            let start = Clock.now()
            _ = matmul(a, b)
            samples.append(start.elapsed())
        }
        return SgemmBaseline(m: m, n: n, k: k, timing: .median(samples))
    }
}

/// Figures of this process and machine from /proc.
public enum ProcessFigures {
    /// The resident-set high-water mark (VmHWM of /proc/self/status) in bytes; 0 if unavailable.
    public static func peakRSS() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024
        }
        return 0
    }

    /// The 1-minute load average (/proc/loadavg); nil if unavailable.
    public static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// The CPU model name (/proc/cpuinfo), or "unknown".
    public static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        }
        return "unknown"
    }
}
