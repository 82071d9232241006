import ArgumentParser
import BenchmarkSupport
import ReferFormer
import Tensor

/// `referstream-bench winograd`: Winograd F(4×4, 3×3) against the GEMM paths it replaces, interleaved
/// in one process (A/B alternating, best of each), on the 3×3 stride-1 layers of the pixel decoder
/// (channels-last) and of ResNet-50 (NCHW), a channel/size sweep for the dispatch rule, and the whole
/// pixel decoder and backbone with `Tensor.winogradPolicy` switched between runs.
struct WinogradBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winograd",
        abstract: "Winograd 3x3 convolutions against the GEMM paths, same-run A/B.")

    @Option(help: "Threads for the tensor runtime.")
    var threads: Int = 2

    @Option(help: "Frames per call (T).")
    var frames: Int = 1

    @Option(help: "Network input height and width.")
    var height: Int = 360
    @Option var width: Int = 640

    @Option(help: "Minimum seconds measured per row (per side).")
    var seconds: Double = 0.5

    @Option(help: "Tiles per Winograd GEMM block (Tensor.winogradTileBlock).")
    var tileBlock: Int = Tensor.winogradTileBlock

    @Option(help: "Channel counts of the sweep (Cin = Cout), comma-separated.")
    var sweepChannels: String = "16,32,64,128,256,512"

    @Option(help: "Map sizes of the sweep, HxW, comma-separated.")
    var sweepSizes: String = "8x8,12x20,16x32,23x40,45x80"

    @Option(help: "Parts to run: layers, sweep, decoder, backbone (comma-separated).")
    var parts: String = "layers,sweep,decoder,backbone"

    /// Best seconds of `a` and of `b`, run alternately (one warm-up each, at least 3 runs each and
    /// `seconds` in total each), wall-clock; the best process CPU seconds of each go to `cpu`.
    func measurePair(_ a: () -> Void, _ b: () -> Void, minimumRuns: Int = 3) -> (Double, Double) {
        a(); b()
        func time(_ body: () -> Void) -> (wall: Double, cpu: Double) {
            let start = Clock.now()
            body()
            let elapsed = start.elapsed()
            return (elapsed.wall, elapsed.cpu)
        }
        var best = (Double.infinity, Double.infinity), bestCPU = (Double.infinity, Double.infinity), total = 0.0, runs = 0
        while runs < minimumRuns || total < seconds {
            let x = time(a), y = time(b)
            best = (Swift.min(best.0, x.wall), Swift.min(best.1, y.wall))
            bestCPU = (Swift.min(bestCPU.0, x.cpu), Swift.min(bestCPU.1, y.cpu))
            total += Swift.min(x.wall, y.wall)
            runs += 1
        }
        WinogradBenchmark.lastCPU = bestCPU
        return best
    }

    /// CPU seconds (A, B) of the last `measurePair`.
    nonisolated(unsafe) static var lastCPU = (0.0, 0.0)

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    static func fmt(_ x: Double, _ digits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return "\((x * scale).rounded() / scale)"
    }

    func run() throws {
        TensorRuntime.defaultThreadCount = threads
        Tensor.winogradTileBlock = tileBlock
        let parts = Set(parts.split(separator: ",").map(String.init))
        func down(_ n: Int) -> Int { (n - 1) / 2 + 1 }
        let (h4, w4) = (down(down(height)), down(down(width)))
        let (h8, w8) = (down(h4), down(w4)), (h16, w16) = (down(h8), down(w8)), (h32, w32) = (down(h16), down(w16))
        print("OpenBLAS core \(TensorRuntime.kernelName); threads \(threads); T = \(frames) at \(height)x\(width); tile block \(tileBlock)")
        print("GEMM = the path without Winograd (channels-last: k² GEMMs over a padded copy; NCHW: im2col + GEMM); "
              + "GFLOP/s counts the direct convolution's 2·9·Cin·Cout·H·W per image")
        print(Self.pad("layer", 48) + Self.pad("GEMM ms", 10) + Self.pad("Winograd ms", 13) + Self.pad("GEMM GF/s", 11) + Self.pad("Wino GF/s", 11)
              + Self.pad("speed-up", 10) + "CPU-time ratio")

        func row(_ label: String, cin: Int, cout: Int, h: Int, w: Int, channelsLast: Bool) {
            let weight = Tensor.randomUniform(shape: [cout, cin, 3, 3], in: -0.1..<0.1, seed: 4)
            let flops = 2.0 * 9 * Double(cin * cout * h * w * frames)
            let (gemm, wino): (Double, Double)
            if channelsLast {
                let x = Tensor.randomUniform(shape: [frames, h, w, cin], in: -1..<1, seed: 3)
                let plain = ConvolutionTaps(weight: weight, winograd: false), kernel = WinogradKernel(weight: weight)
                (gemm, wino) = measurePair({ _ = x.conv2dChannelsLast(plain, bias: nil) },
                                           { _ = x.winogradConv2dChannelsLast(kernel, bias: nil) })
            } else {
                let x = Tensor.randomUniform(shape: [frames, cin, h, w], in: -1..<1, seed: 3)
                let kernel = LazyWinogradKernel(weight: weight)
                let saved = Tensor.winogradPolicy
                (gemm, wino) = measurePair({ _ = x.conv2d(weight: weight, bias: nil, stride: 1, padding: 1) },
                                           { Tensor.winogradPolicy = .always; _ = x.conv2d(winograd: kernel, bias: nil); Tensor.winogradPolicy = saved })
            }
            let cpu = WinogradBenchmark.lastCPU
            print(Self.pad(label, 48) + Self.pad(Self.fmt(gemm * 1000, 2), 10) + Self.pad(Self.fmt(wino * 1000, 2), 13)
                  + Self.pad(Self.fmt(flops / gemm / 1e9), 11) + Self.pad(Self.fmt(flops / wino / 1e9), 11)
                  + Self.pad(Self.fmt(gemm / wino, 2) + "x", 10) + Self.fmt(cpu.0 / cpu.1, 2) + "x")
        }

        if parts.contains("layers") {
            for (name, h, w) in [("layer_1, mask_features (stride 4)", h4, w4), ("layer_2 (stride 8)", h8, w8),
                                 ("layer_3 (stride 16)", h16, w16), ("layer_4 (stride 32)", h32, w32)] {
                row("pixel decoder \(name)", cin: 256, cout: 256, h: h, w: w, channelsLast: true)
            }
            for (c, h, w) in [(64, h4, w4), (128, h8, w8), (256, h16, w16), (512, h32, w32)] {
                row("resnet 3x3 \(c) \(h)x\(w) NCHW", cin: c, cout: c, h: h, w: w, channelsLast: false)
                row("resnet 3x3 \(c) \(h)x\(w) channels-last", cin: c, cout: c, h: h, w: w, channelsLast: true)
            }
        }
        if parts.contains("sweep") {
            let sizes = sweepSizes.split(separator: ",").compactMap { size -> (Int, Int)? in
                let parts = size.split(separator: "x").compactMap { Int($0) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }
            for c in sweepChannels.split(separator: ",").compactMap({ Int($0) }) {
                for (h, w) in sizes {
                    row("sweep \(c)>\(c) \(h)x\(w) channels-last", cin: c, cout: c, h: h, w: w, channelsLast: true)
                }
            }
        }
        if parts.contains("decoder") {
            try measureDecoder(sizes: [(h4, w4), (h8, w8), (h16, w16), (h32, w32)])
        }
        if parts.contains("backbone") {
            try measureBackbone()
        }
    }

    /// The whole pixel decoder (random R50-sized weights, as `referstream-bench segmentation`), runs
    /// alternating between `winogradPolicy` `.never` and `.automatic`.
    func measureDecoder(sizes: [(Int, Int)]) throws {
        let (c, f, m, words) = (256, 2048, 256, 16)
        var random = SeededUniform(state: 42)
        let stateDict = StateDict(SegmentationBenchmark.keys(hidden: c, ffn: f, res2: 256, maskDim: m, params: 2153).map { ($0.0, random.parameter($0.0, $0.1)) })
        let decoder = CrossModalFPNDecoder(weights: stateDict, hiddenDim: c, maskDim: m, ffnDim: f, res2Channels: 256)
        _ = DynamicMaskHead(weights: stateDict, hiddenDim: c, maskDim: m)  // takes the rest of the keys
        try stateDict.finish()
        let res2 = random.tensor([frames, 256, sizes[0].0, sizes[0].1], scale: 1)
        let memory = (1...3).map { random.tensor([frames, c, sizes[$0].0, sizes[$0].1], scale: 1) }
        let positions = sizes.map { Tensor.sinePositionEncoding2D(height: $0.0, width: $0.1, numPosFeats: c / 2) }
        let wordFeatures = random.tensor([1, words, c], scale: 1)
        let textPosition = Tensor.sinePositionEncoding1D(length: words, numPosFeats: c)
        var outputs: [Tensor] = []
        func run(_ policy: Tensor.WinogradPolicy) {
            Tensor.winogradPolicy = policy
            outputs.append(decoder(res2: res2, memory: memory, positions: positions, words: wordFeatures, textPaddingMask: nil, textPosition: textPosition))
            Tensor.winogradPolicy = .automatic
        }
        let (gemm, wino) = measurePair({ run(.never) }, { run(.automatic) }, minimumRuns: 3)
        let a = outputs[outputs.count - 2].scalars, b = outputs[outputs.count - 1].scalars
        let rms = (a.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(Swift.max(a.count, 1))).squareRoot()
        let difference = zip(a, b).reduce(0.0) { Swift.max($0, Double(abs($1.0 - $1.1))) } / rms
        print("pixel decoder, T = \(frames): GEMM \(Self.fmt(gemm, 3)) s, Winograd \(Self.fmt(wino, 3)) s, speed-up \(Self.fmt(gemm / wino, 2))x "
              + "(CPU time \(Self.fmt(WinogradBenchmark.lastCPU.0, 3)) s vs \(Self.fmt(WinogradBenchmark.lastCPU.1, 3)) s); "
              + "max|Δ|/rms of mask_features between them \(difference)")
    }

    /// The ResNet-50 backbone (random weights, as `referstream-bench model`), runs alternating between
    /// `winogradPolicy` `.never` and `.automatic`.
    func measureBackbone() throws {
        let configuration = ReferFormerConfiguration()
        let model = try ReferFormerDetector(configuration: configuration, weights: StateDict(generating: StagePass.randomParameter))
        let clip = Tensor.randomNormal(shape: [frames, 3, height, width], seed: 7)
        func run(_ policy: Tensor.WinogradPolicy) {
            Tensor.winogradPolicy = policy
            _ = model.backbone(clip)
            Tensor.winogradPolicy = .automatic
        }
        let (gemm, wino) = measurePair({ run(.never) }, { run(.automatic) }, minimumRuns: 3)
        print("backbone, T = \(frames): GEMM \(Self.fmt(gemm, 3)) s, Winograd \(Self.fmt(wino, 3)) s, speed-up \(Self.fmt(gemm / wino, 2))x "
              + "(CPU time \(Self.fmt(WinogradBenchmark.lastCPU.0, 3)) s vs \(Self.fmt(WinogradBenchmark.lastCPU.1, 3)) s)")
    }
}
