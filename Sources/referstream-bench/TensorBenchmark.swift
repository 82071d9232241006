import ArgumentParser
import Tensor

/// `referstream-bench tensor`: GFLOP/s of conv2d on ResNet-50's convolution shapes at a 360×640 input
/// and of square GEMMs, each next to OpenBLAS sgemm on the equivalent GEMM measured in the same run.
struct TensorBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "conv2d and GEMM throughput against same-run OpenBLAS sgemm.")

    @Option(help: "Threads for OpenBLAS and for the tensor runtime's parallel loops.")
    var threads: Int = 2

    @Option(help: "Images per convolution call (frames of a window).")
    var batch: Int = 1

    @Option(help: "Input height and width.")
    var height: Int = 360
    @Option var width: Int = 640

    @Option(help: "Minimum seconds measured per row (per side).")
    var seconds: Double = 0.5

    @Option(help: "Floats per im2col chunk (Tensor.im2colChunkElements).")
    var chunk: Int = Tensor.im2colChunkElements

    @Option(help: "Only shapes whose label contains this text.")
    var filter: String?

    struct ConvShape {
        var label: String
        var cin: Int, cout: Int, kernel: Int, stride: Int, padding: Int, h: Int, w: Int
        var oh: Int { (h + 2 * padding - kernel) / stride + 1 }
        var ow: Int { (w + 2 * padding - kernel) / stride + 1 }
    }

    /// Distinct convolutions of torchvision's ResNet-50 (stride on the 3×3, as the official backbone).
    func resnet50Shapes() -> [ConvShape] {
        func half(_ n: Int) -> Int { (n - 1) / 2 + 1 }
        var shapes = [ConvShape(label: "stem 7x7 s2", cin: 3, cout: 64, kernel: 7, stride: 2, padding: 3, h: height, w: width)]
        var h = half(half(height)), w = half(half(width))  // after conv1 and the max pool
        var cin = 64
        for (layer, planes) in [64, 128, 256, 512].enumerated() {
            let stride = layer == 0 ? 1 : 2
            let out = planes * 4
            let name = "layer\(layer + 1)"
            shapes.append(ConvShape(label: "\(name) 1x1 \(cin)>\(planes)", cin: cin, cout: planes, kernel: 1, stride: 1, padding: 0, h: h, w: w))
            shapes.append(ConvShape(label: "\(name) 3x3 s\(stride) \(planes)", cin: planes, cout: planes, kernel: 3, stride: stride, padding: 1, h: h, w: w))
            shapes.append(ConvShape(label: "\(name) downsample 1x1 s\(stride) \(cin)>\(out)", cin: cin, cout: out, kernel: 1, stride: stride, padding: 0, h: h, w: w))
            let oh = stride == 1 ? h : half(h), ow = stride == 1 ? w : half(w)
            shapes.append(ConvShape(label: "\(name) 1x1 \(planes)>\(out)", cin: planes, cout: out, kernel: 1, stride: 1, padding: 0, h: oh, w: ow))
            if cin != out {
                shapes.append(ConvShape(label: "\(name) 1x1 \(out)>\(planes)", cin: out, cout: planes, kernel: 1, stride: 1, padding: 0, h: oh, w: ow))
            }
            if stride != 1 {
                shapes.append(ConvShape(label: "\(name) 3x3 s1 \(planes)", cin: planes, cout: planes, kernel: 3, stride: 1, padding: 1, h: oh, w: ow))
            }
            h = oh; w = ow; cin = out
        }
        return shapes
    }

    /// Best (minimum) seconds of `subject` and of `baseline`, run alternately (one warm-up each, at
    /// least 5 runs each and `seconds` in total each) so both see the same machine load.
    func measurePair(_ subject: () -> Void, _ baseline: () -> Void) -> (subject: Double, baseline: Double) {
        subject()
        baseline()
        let clock = ContinuousClock()
        func time(_ body: () -> Void) -> Double {
            let t = clock.measure(body)
            return Double(t.components.seconds) + Double(t.components.attoseconds) * 1e-18
        }
        var best = (Double.infinity, Double.infinity), total = 0.0, runs = 0
        while runs < 5 || total < seconds {
            let a = time(subject), b = time(baseline)
            best = (min(best.0, a), min(best.1, b))
            total += min(a, b)
            runs += 1
        }
        return best
    }

    /// Calls `body` with a plain sgemm C(m×n) = A(m×k)·B(k×n) on contiguous buffers.
    func withSgemm<R>(m: Int, n: Int, k: Int, _ body: (() -> Void) -> R) -> R {
        let a = Tensor.randomUniform(shape: [m, k], in: -1..<1, seed: 1)
        let b = Tensor.randomUniform(shape: [k, n], in: -1..<1, seed: 2)
        return body { _ = matmul(a, b) }
    }

    func run() throws {
        TensorRuntime.defaultThreadCount = threads
        Tensor.im2colChunkElements = chunk
        print("OpenBLAS \(TensorRuntime.libraryDescription) core \(TensorRuntime.kernelName); threads \(threads); batch \(batch); input \(height)x\(width)")
        print("GFLOP/s = 2·M·N·K / best time of alternating runs; 'sgemm' is cblas_sgemm on the conv's equivalent GEMM (M = Cout, N = batch·OH·OW, K = Cin·k·k) in this run")
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func num(_ x: Double) -> String { let s = String(Int((x * 10).rounded())); return String(s.dropLast()) + "." + String(s.suffix(1)) }
        print(pad("shape", 36) + pad("out", 12) + pad("conv GF/s", 11) + pad("sgemm GF/s", 12) + "conv/sgemm")
        var oneByOne: [Double] = [], threeByThree: [Double] = []
        for s in resnet50Shapes() where filter.map({ s.label.contains($0) }) ?? true {
            let x = Tensor.randomUniform(shape: [batch, s.cin, s.h, s.w], in: -1..<1, seed: 3)
            let wt = Tensor.randomUniform(shape: [s.cout, s.cin, s.kernel, s.kernel], in: -0.1..<0.1, seed: 4)
            let flops = 2.0 * Double(batch * s.cout * s.oh * s.ow * s.cin * s.kernel * s.kernel)
            let (conv, gemm) = withSgemm(m: s.cout, n: batch * s.oh * s.ow, k: s.cin * s.kernel * s.kernel) { sgemm in
                measurePair({ _ = x.conv2d(weight: wt, bias: nil, stride: s.stride, padding: s.padding) }, sgemm)
            }
            let ratio = gemm / conv
            if s.kernel == 1 { oneByOne.append(ratio) } else if s.kernel == 3 { threeByThree.append(ratio) }
            print(pad(s.label, 36) + pad("\(s.oh)x\(s.ow)", 12) + pad(num(flops / conv / 1e9), 11) + pad(num(flops / gemm / 1e9), 12) + "\(Int((ratio * 100).rounded())) %")
        }
        print("")
        print(pad("square sgemm", 36) + pad("", 12) + pad("matmul GF/s", 11) + pad(" sgemm GF/s", 12) + "matmul/sgemm")
        for n in [512, 1024, 2048] where filter == nil {
            let a = Tensor.randomUniform(shape: [n, n], in: -1..<1, seed: 5), b = Tensor.randomUniform(shape: [n, n], in: -1..<1, seed: 6)
            let flops = 2.0 * Double(n * n * n)
            let (mm, gemm) = withSgemm(m: n, n: n, k: n) { sgemm in measurePair({ _ = matmul(a, b) }, sgemm) }
            print(pad("\(n)x\(n)x\(n)", 36) + pad("", 12) + pad(num(flops / mm / 1e9), 11) + pad(num(flops / gemm / 1e9), 12) + "\(Int((gemm / mm * 100).rounded())) %")
        }
        func geomean(_ v: [Double]) -> Double { v.isEmpty ? 0 : _exp(v.map { _log($0) }.reduce(0, +) / Double(v.count)) }
        print("")
        print("conv/sgemm: 1x1 min \(Int(((oneByOne.min() ?? 0) * 100).rounded())) % geomean \(Int((geomean(oneByOne) * 100).rounded())) %; "
            + "3x3 min \(Int(((threeByThree.min() ?? 0) * 100).rounded())) % geomean \(Int((geomean(threeByThree) * 100).rounded())) %")
    }
}

#if canImport(Glibc)
import Glibc
private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
private func _log(_ x: Double) -> Double { Glibc.log(x) }
#endif
