// Release-mode speed of the segmentation part at the real R50 configuration with random weights:
// CrossModalFPN pixel decoder (per stage), dynamic mask head and post-processing.
//
//   swift run -c release SegmentationBenchmark [frames T=2] [height 360] [width 640] [repeats 3]
//
// Stage times come from the decoder's `record` hook (timestamps between consecutive intermediates;
// each includes one NCHW conversion of that intermediate, a few ms); the total is a separate run
// without the hook.
import ReferFormer
import Tensor

/// Deterministic uniform values (SplitMix64) scaled to the variance of a fan-in initialisation.
struct Random {
    var state: UInt64
    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1  // [-1, 1)
    }
    mutating func tensor(_ shape: [Int], scale: Float) -> Tensor {
        Tensor(shape: shape) { b in for i in 0..<b.count { b[i] = next() * scale } }
    }
    /// Weights (variance 1/fan_in), biases and norm parameters for a key.
    mutating func parameter(_ key: String, _ shape: [Int]) -> Tensor {
        if key.hasSuffix("norm.weight") || key.contains(".norm1.weight") || key.contains(".norm2.weight") || key.contains(".norm3.weight") {
            return Tensor(shape: shape) { b in for i in 0..<b.count { b[i] = 1 + 0.1 * next() } }
        }
        if shape.count == 1 { return tensor(shape, scale: 0.1) }
        let fanIn = shape.dropFirst().reduce(1, *)
        return tensor(shape, scale: (3 / Float(fanIn)).squareRoot())
    }
}

func keys(hidden c: Int, ffn f: Int, res2 r: Int, maskDim m: Int, params p: Int) -> [(String, [Int])] {
    var list: [(String, [Int])] = []
    for k in 1...4 {
        let d = "pixel_decoder."
        list += [("\(d)adapter_\(k).weight", [c, k == 1 ? r : c, 1, 1]), ("\(d)adapter_\(k).norm.weight", [c]), ("\(d)adapter_\(k).norm.bias", [c]),
                 ("\(d)layer_\(k).weight", [c, c, 3, 3]), ("\(d)layer_\(k).norm.weight", [c]), ("\(d)layer_\(k).norm.bias", [c])]
        for a in ["self_attn", "multihead_attn"] {
            list += [("\(d)cross_attn_\(k).\(a).in_proj_weight", [3 * c, c]), ("\(d)cross_attn_\(k).\(a).in_proj_bias", [3 * c]),
                     ("\(d)cross_attn_\(k).\(a).out_proj.weight", [c, c]), ("\(d)cross_attn_\(k).\(a).out_proj.bias", [c])]
        }
        list += [("\(d)cross_attn_\(k).linear1.weight", [f, c]), ("\(d)cross_attn_\(k).linear1.bias", [f]),
                 ("\(d)cross_attn_\(k).linear2.weight", [c, f]), ("\(d)cross_attn_\(k).linear2.bias", [c])]
        for n in 1...3 { list += [("\(d)cross_attn_\(k).norm\(n).weight", [c]), ("\(d)cross_attn_\(k).norm\(n).bias", [c])] }
    }
    list += [("pixel_decoder.mask_features.weight", [m, c, 3, 3]), ("pixel_decoder.mask_features.bias", [m])]
    list += [("controller.layers.0.weight", [c, c]), ("controller.layers.0.bias", [c]), ("controller.layers.1.weight", [c, c]),
             ("controller.layers.1.bias", [c]), ("controller.layers.2.weight", [p, c]), ("controller.layers.2.bias", [p])]
    return list
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let t = arguments.count > 0 ? arguments[0] : 2
let height = arguments.count > 1 ? arguments[1] : 360, width = arguments.count > 2 ? arguments[2] : 640
let repeats = arguments.count > 3 ? arguments[3] : 3
let (c, f, m, q, words) = (256, 2048, 256, 5, 16)
// Level sizes: every stride-2 op maps n → ⌊(n − 1)/2⌋ + 1 (spec §3).
var sizes: [(Int, Int)] = []
var (h, w) = (height, width)
for level in 0..<5 {
    h = (h - 1) / 2 + 1; w = (w - 1) / 2 + 1
    if level >= 1 { sizes.append((h, w)) }  // strides 4, 8, 16, 32
}

var random = Random(state: 42)
let clock = ContinuousClock()
let loadStart = clock.now
let stateDict = StateDict(keys(hidden: c, ffn: f, res2: 256, maskDim: m, params: 2153).map { ($0.0, random.parameter($0.0, $0.1)) })
let decoder = CrossModalFPNDecoder(stateDict: stateDict, hiddenDim: c, maskDim: m, ffnDim: f, res2Channels: 256)
let maskHead = DynamicMaskHead(stateDict: stateDict, hiddenDim: c, maskDim: m)
do { try stateDict.finish() } catch { print("weights: \(error)"); exit(1) }
print("T=\(t) \(height)×\(width), levels \(sizes), BLAS \(BLAS.coreName) kernel, \(BLAS.threadCount) threads, parallel chunks \(Parallel.threadCount); setup \(String(format3: seconds(clock.now - loadStart))) s")

let res2 = random.tensor([t, 256, sizes[0].0, sizes[0].1], scale: 1)
let memory = (1...3).map { random.tensor([t, c, sizes[$0].0, sizes[$0].1], scale: 1) }
// Position inputs: bounded values of the right shapes (their content does not change the cost).
let positions = sizes.map { random.tensor([1, c, $0.0, $0.1], scale: 1) }
let wordFeatures = random.tensor([1, words, c], scale: 1)
let textPosition = random.tensor([1, c, words], scale: 1)
let hs = random.tensor([t, q, c], scale: 1)
let boxes = Tensor(shape: [t, q, 4]) { b in for i in 0..<b.count { b[i] = 0.5 + 0.4 * random.next() } }
let logits = random.tensor([1, t, q, 1], scale: 2)

extension String {
    init(format3 value: Double) {
        let scaled = (value * 1000).rounded() / 1000
        self = "\(scaled)"
    }
}

/// Multiply-add FLOPs of the pixel decoder (2 per multiply-add), from the layer shapes.
@MainActor func decoderFlops() -> Double {
    var total = 0.0
    let srs = [8, 4, 2, 1]
    for (level, (h, w)) in sizes.enumerated() {
        let n = Double(t * h * w), cc = Double(c)
        let cin = level == 0 ? 256.0 : cc
        let nr = Double(t * (h / srs[level]) * (w / srs[level]))
        let l = Double(words)
        total += n * cin * cc * 2                                      // adapter
        total += 4 * nr * cc * cc * 2 + 2 * nr * nr * cc * 2           // self-attention (reduced)
        total += 2 * n * cc * cc * 2 + 2 * l * cc * cc * 2 + 2 * n * l * cc * 2  // cross-attention
        total += 2 * n * cc * Double(f) * 2                             // FFN
        total += n * cc * cc * 9 * 2                                    // layer 3×3
        if level == 0 { total += n * cc * Double(m) * 9 * 2 }           // mask_features 3×3
    }
    return total
}

/// GFLOP/s of plain sgemm calls of a typical decoder shape (4096 × 2048 × 256), measured now: the
/// attainable rate under the machine's current load, to judge the decoder's efficiency against.
@MainActor func referenceGemmRate() -> Double {
    let (mm, nn, kk) = (4096, 2048, 256)
    let a = random.tensor([mm, kk], scale: 1), b = random.tensor([nn, kk], scale: 1)
    var out = [Float](repeating: 0, count: mm * nn)
    let start = clock.now
    for _ in 0..<8 {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    BLAS.sgemm(transB: .transposed, m: mm, n: nn, k: kk, a: ap.baseAddress!, lda: kk, b: bp.baseAddress!, ldb: kk,
                               c: op.baseAddress!, ldc: nn)
                }
            }
        }
    }
    return 8 * Double(mm * nn * kk * 2) / seconds(clock.now - start) / 1e9
}

let flops = decoderFlops()
print("pixel decoder: \(String(format3: flops / 1e9 / Double(t))) GFLOP per frame")

for run in 0..<repeats {
    var marks: [(String, ContinuousClock.Instant)] = [("start", clock.now)]
    _ = decoder(res2: res2, memory: memory, positions: positions, words: wordFeatures, textPaddingMask: nil,
                textPosition: textPosition) { name, _ in marks.append((name, clock.now)) }
    let plainStart = clock.now
    let features = decoder(res2: res2, memory: memory, positions: positions, words: wordFeatures, textPaddingMask: nil, textPosition: textPosition)
    let decoderTime = clock.now - plainStart
    let headStart = clock.now
    let masks = maskHead(maskFeatures: features, hs: hs, references: boxes, imageSize: (height, width))
    let headTime = clock.now - headStart
    let postStart = clock.now
    let post = MaskPostProcessing.process(predLogits: logits, predMasks: masks, originalSize: (height * 2, width * 2))
    _ = post.binaryMasks()
    let postTime = clock.now - postStart
    let gemmRate = referenceGemmRate()
    var line = "run \(run): pixel decoder \(String(format3: seconds(decoderTime))) s (\(String(format3: seconds(decoderTime) / Double(t))) s/frame, "
    line += "\(String(format3: flops / seconds(decoderTime) / 1e9)) GFLOP/s; plain sgemm now \(String(format3: gemmRate)) GFLOP/s)"
    line += ", mask head \(String(format3: seconds(headTime))) s, post (to \(height * 2)×\(width * 2)) \(String(format3: seconds(postTime))) s"
    print(line)
    var stages: [String] = []
    for i in 1..<marks.count {
        stages.append("\(marks[i].0.replacingPrefix("pixel_decoder.")) \(String(format3: seconds(marks[i].1 - marks[i - 1].1)))")
    }
    print("  stages (s, with hook): " + stages.joined(separator: ", "))
}

extension String {
    func replacingPrefix(_ prefix: String) -> String { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self }
}

#if canImport(Glibc)
import Glibc
#endif
