import ArgumentParser
import BenchmarkSupport
@_spi(KernelReference) import Tensor

/// `referstream-bench kernels`: same-run A/B timings of the non-GEMM kernels of the R50 configuration
/// (360×640) against the plain loops they replaced, interleaved (A, B, A, B, …) so machine load hits
/// both sides alike; prints the best wall and CPU time of each side and their ratio.
struct KernelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Same-run A/B of the vectorised non-GEMM kernels against their reference loops, R50 sizes.")

    @Option(help: "Threads for the tensor runtime's parallel loops.")
    var threads: Int = 2

    @Option(help: "Interleaved rounds (each times A once and B once).")
    var rounds: Int = 7

    @Option(help: "Frame height and width (the resized network input).")
    var height: Int = 360
    @Option var width: Int = 640

    @Option(help: "Only kernels whose label contains this text.")
    var filter: String?

    func run() throws {
        TensorRuntime.defaultThreadCount = threads
        var shapes: [(h: Int, w: Int)] = []
        var (h, w) = (height, width)
        for level in 0..<6 {
            h = (h - 1) / 2 + 1; w = (w - 1) / 2 + 1
            if level >= 2 { shapes.append((h, w)) }  // strides 8, 16, 32, 64 (the encoder's levels)
        }
        print("kernel A/B, \(threads) threads, \(height)×\(width), best of \(rounds) interleaved rounds (new vs reference)")
        for (label, a, b) in cases(levels: shapes) where filter.map({ label.contains($0) }) ?? true {
            var bestA = (wall: Double.infinity, cpu: Double.infinity), bestB = bestA
            _ = a(); _ = b()  // warm-up (pools, page faults)
            for _ in 0..<rounds {
                let ta = Self.time(a), tb = Self.time(b)
                bestA = (min(bestA.wall, ta.wall), min(bestA.cpu, ta.cpu))
                bestB = (min(bestB.wall, tb.wall), min(bestB.cpu, tb.cpu))
            }
            print("  " + label.padding(toLength: 44, withPad: " ", startingAt: 0)
                  + String(format: "new %8.2f ms (CPU %8.2f)  ref %8.2f ms (CPU %8.2f)  speed-up ×%.2f wall, ×%.2f CPU",
                           bestA.wall * 1000, bestA.cpu * 1000, bestB.wall * 1000, bestB.cpu * 1000,
                           bestB.wall / bestA.wall, bestB.cpu / bestA.cpu))
        }
    }

    static func time(_ body: () -> Tensor) -> (wall: Double, cpu: Double) {
        let start = Clock.now()
        withExtendedLifetime(body()) {}
        let elapsed = start.elapsed()
        return (elapsed.wall, elapsed.cpu)
    }

    /// (label, new kernel, reference) at the sizes one R50 frame uses.
    func cases(levels: [(h: Int, w: Int)]) -> [(String, () -> Tensor, () -> Tensor)] {
        let (heads, points, d) = (8, 4, 32)
        var starts: [Int] = [], tokens = 0
        for shape in levels { starts.append(tokens); tokens += shape.h * shape.w }
        // Encoder self-attention: every token samples around its own position, a few pixels away.
        let value = Tensor.randomNormal(shape: [1, tokens, heads, d], seed: 1)
        var reference: [Float] = []
        for shape in levels {
            for i in 0..<shape.h { for j in 0..<shape.w { reference += [(Float(j) + 0.5) / Float(shape.w), (Float(i) + 0.5) / Float(shape.h)] } }
        }
        let jitter = Tensor.randomNormal(shape: [1, tokens, heads, levels.count, points, 2], seed: 2).scalars
        let locations = Tensor(shape: [1, tokens, heads, levels.count, points, 2]) { out in
            for i in 0..<out.count {
                let token = i / (heads * levels.count * points * 2), level = (i / (points * 2)) % levels.count
                let size = i % 2 == 0 ? levels[level].w : levels[level].h
                out[i] = reference[2 * token + i % 2] + jitter[i] * 2 / Float(size)
            }
        }
        let weights = Tensor.randomUniform(shape: [1, tokens, heads, levels.count * points], seed: 3).softmax(axis: -1)
            .reshaped([1, tokens, heads, levels.count, points])
        let tokensMatrix = Tensor.randomNormal(shape: [1, tokens, heads * d], seed: 4)
        let gamma = Tensor.randomNormal(shape: [heads * d], seed: 5), beta = Tensor.randomNormal(shape: [heads * d], seed: 6)
        let stride4 = Tensor.randomNormal(shape: [((height - 1) / 2 + 1 - 1) / 2 + 1, ((width - 1) / 2 + 1 - 1) / 2 + 1, heads * d], seed: 7)
        let w1 = Tensor.randomNormal(shape: [2048, heads * d], seed: 8) * 0.06, b1 = Tensor.randomNormal(shape: [2048], seed: 9)
        let w2 = Tensor.randomNormal(shape: [heads * d, 2048], seed: 10) * 0.02, b2 = Tensor.randomNormal(shape: [heads * d], seed: 11)
        let s4tokens = stride4.reshaped([-1, 1, heads * d]), words = Tensor.randomNormal(shape: [16, 1, heads * d], seed: 12)
        let encoderTokens = tokensMatrix.reshaped([tokens, 1, heads * d]), reduced = Tensor.randomNormal(shape: [440, 1, heads * d], seed: 15)
        let mha = MultiheadAttentionWeights(inProjWeight: Tensor.randomNormal(shape: [3 * heads * d, heads * d], seed: 13) * 0.06,
                                            inProjBias: Tensor.zeros([3 * heads * d]),
                                            outProjWeight: Tensor.randomNormal(shape: [heads * d, heads * d], seed: 14) * 0.06,
                                            outProjBias: Tensor.zeros([heads * d]))
        return [
            ("MSDeformAttn sampler, encoder layer (\(tokens) q)",
             { msDeformAttnCore(value: value, spatialShapes: levels, levelStartIndex: starts, samplingLocations: locations, attentionWeights: weights) },
             { msDeformAttnCoreReference(value: value, spatialShapes: levels, levelStartIndex: starts, samplingLocations: locations, attentionWeights: weights) }),
            ("LayerNorm, encoder tokens × 256 (new tensor)",
             { tokensMatrix.layerNorm(weight: gamma, bias: beta, eps: 1e-5) },
             { tokensMatrix.layerNormReference(weight: gamma, bias: beta, eps: 1e-5) }),
            ("LayerNorm, pixel decoder stride 4 × 256",
             { stride4.layerNorm(weight: gamma, bias: beta, eps: 1e-5) },
             { stride4.layerNormReference(weight: gamma, bias: beta, eps: 1e-5) }),
            // Timing probes without a reference (B = A): where a stride-4 pixel-decoder block spends its time.
            ("MHA 14400 q × 16 words (cross-attn, stride 4)",
             { multiheadAttention(query: s4tokens, key: words, value: words, weights: mha, heads: heads).output },
             { multiheadAttentionReference(query: s4tokens, key: words, value: words, weights: mha, heads: heads).output }),
            ("MHA 4820 q × 16 words (early fusion)",
             { multiheadAttention(query: encoderTokens, key: words, value: words, weights: mha, heads: heads).output },
             { multiheadAttentionReference(query: encoderTokens, key: words, value: words, weights: mha, heads: heads).output }),
            ("MHA self-attention 440 tokens (stride 4, sr 8, 2 frames)",
             { multiheadAttention(query: reduced, key: reduced, value: reduced, weights: mha, heads: heads).output },
             { multiheadAttentionReference(query: reduced, key: reduced, value: reduced, weights: mha, heads: heads).output }),
            ("probe: linear 14400×256×256 (one projection)",
             { s4tokens.linear(weight: mha.outProjWeight, bias: mha.outProjBias) },
             { s4tokens.linear(weight: mha.outProjWeight, bias: mha.outProjBias) }),
            ("probe: FFN 14400 rows (stride 4)",
             { s4tokens.feedForward(hiddenWeight: w1, hiddenBias: b1, outputWeight: w2, outputBias: b2, addingInput: true) },
             { s4tokens.feedForward(hiddenWeight: w1, hiddenBias: b1, outputWeight: w2, outputBias: b2, addingInput: true) }),
        ] + [512, 1024, 2048].map { rows in
            ("FFN 256→2048→256, \(tokens) rows: blocks of \(rows) vs 256",
             { tokensMatrix.feedForward(hiddenWeight: w1, hiddenBias: b1, outputWeight: w2, outputBias: b2, addingInput: true, blockRows: rows) },
             { tokensMatrix.feedForward(hiddenWeight: w1, hiddenBias: b1, outputWeight: w2, outputBias: b2, addingInput: true, blockRows: 256) })
        }
    }
}
