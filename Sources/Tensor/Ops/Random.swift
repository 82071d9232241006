// Seeded random tensors for tests and benchmarks (SplitMix64; reproducible across platforms).

#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a small, fast, well-mixed 64-bit generator.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 24 random bits.
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

extension Tensor {
    /// Standard-normal values (Box–Muller), reproducible for a given seed.
    public static func randomNormal(shape: [Int], seed: UInt64 = 0) -> Tensor {
        var g = SplitMix64(seed: seed)
        return Tensor(shape: shape) { out in
            var i = 0
            while i < out.count {
                let u1 = Swift.max(g.unit(), Float.leastNormalMagnitude), u2 = g.unit()
                let r = (-2 * logf(u1)).squareRoot(), t = 2 * Float.pi * u2
                out[i] = r * cosf(t)
                if i + 1 < out.count { out[i + 1] = r * sinf(t) }
                i += 2
            }
        }
    }

    /// Uniform values in `range`, reproducible for a given seed.
    public static func randomUniform(shape: [Int], in range: Range<Float> = 0..<1, seed: UInt64 = 0) -> Tensor {
        var g = SplitMix64(seed: seed)
        let lo = range.lowerBound, width = range.upperBound - range.lowerBound
        return Tensor(shape: shape) { out in
            for i in 0..<out.count { out[i] = Swift.min(lo + width * g.unit(), range.upperBound.nextDown) }
        }
    }

    /// Uniform values in `range` (closed), reproducible for a given seed.
    public static func randomUniform(shape: [Int], in range: ClosedRange<Float>, seed: UInt64 = 0) -> Tensor {
        var g = SplitMix64(seed: seed)
        let lo = range.lowerBound, width = range.upperBound - range.lowerBound
        return Tensor(shape: shape) { out in
            for i in 0..<out.count { out[i] = Swift.min(lo + width * g.unit(), range.upperBound) }
        }
    }
}
