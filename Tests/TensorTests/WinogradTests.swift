import Testing
@testable import Tensor

/// Winograd F(4×4, 3×3) against a float64 direct convolution. The bound, 1e-4 × RMS of the output,
/// is about 3× the error measured at 256 channels (2.7e-5 in NumPy's float32 emulation of the same
/// transforms, see WinogradConvolution.swift) and 3× below the model's golden tolerance (3e-4).
@Suite("Winograd F(4×4, 3×3) convolution")
struct WinogradTests {
    static let bound = 1e-4

    /// Direct 3×3, stride-1, padding-1 convolution in Double on a channels-last batch, (N, H, W, Cout).
    static func direct(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?) -> [Double] {
        let (n, h, w, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cout = weight.shape[0]
        let xs = x.scalars.map(Double.init), ws = weight.scalars.map(Double.init), bs = bias?.scalars.map(Double.init)
        var out = [Double](repeating: 0, count: n * h * w * cout)
        xs.withUnsafeBufferPointer { xp in
            ws.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    for b in 0..<n {
                        for y in 0..<h {
                            for xx in 0..<w {
                                for o in 0..<cout {
                                    var s = bs?[o] ?? 0
                                    for i in 0..<3 {
                                        let iy = y + i - 1
                                        guard iy >= 0 && iy < h else { continue }
                                        for j in 0..<3 {
                                            let ix = xx + j - 1
                                            guard ix >= 0 && ix < w else { continue }
                                            let px = ((b * h + iy) * w + ix) * cin, pw = o * cin * 9 + i * 3 + j
                                            for c in 0..<cin { s += xp[px + c] * wp[pw + c * 9] }
                                        }
                                    }
                                    op[((b * h + y) * w + xx) * cout + o] = s
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// max |actual − expected| / RMS(expected).
    static func relativeError(_ actual: Tensor, _ expected: [Double]) -> Double {
        let values = actual.scalars
        precondition(values.count == expected.count)
        let rms = (expected.reduce(0) { $0 + $1 * $1 } / Double(Swift.max(expected.count, 1))).squareRoot()
        let maxAbs = zip(values, expected).reduce(0.0) { Swift.max($0, abs(Double($1.0) - $1.1)) }
        return rms > 0 ? maxAbs / rms : maxAbs
    }

    /// (N, Cin, Cout, H, W): single pixels, sizes that are not multiples of the 4×4 tile (partial
    /// tiles at the bottom and right edges), channel counts that are not multiples of the 16 lanes.
    @Test("matches a float64 direct convolution, with partial tiles, blocks and channel vectors", arguments: [
        (1, 1, 1, 1, 1), (1, 3, 5, 7, 9), (2, 17, 9, 8, 8), (1, 16, 32, 5, 13), (1, 33, 20, 4, 4), (2, 40, 24, 11, 6), (3, 2, 3, 2, 3),
    ])
    func matchesDirect(_ n: Int, _ cin: Int, _ cout: Int, _ h: Int, _ w: Int) {
        let x = Tensor.randomNormal(shape: [n, h, w, cin], seed: 31)
        let weight = Tensor.randomNormal(shape: [cout, cin, 3, 3], seed: 32)
        let bias = Tensor.randomNormal(shape: [cout], seed: 33)
        let kernel = WinogradKernel(weight: weight)
        let expected = Self.direct(x, weight, bias)
        let rectified = expected.map { Swift.max($0, 0) }
        // One worker with the default block; blocks of 1 and 5 tiles (blocks straddle rows and images);
        // 2 and 3 workers (more workers than tiles for the small shapes).
        for (block, workers) in [(Tensor.winogradTileBlock, 1), (1, 1), (5, 2), (3, 3)] {
            let y = x.winogradConv2dChannelsLast(kernel, bias: bias, relu: false, tileBlock: block, workers: workers)
            #expect(y.shape == [n, h, w, cout])
            let error = Self.relativeError(y, expected)
            #expect(error <= Self.bound, "max|Δ|/rms \(error) for \([n, cin, cout, h, w]) block \(block) workers \(workers)")
            let r = x.winogradConv2dChannelsLast(kernel, bias: bias, relu: true, tileBlock: block, workers: workers)
            let rError = Self.relativeError(r, rectified)
            #expect(rError <= Self.bound && r.scalars.allSatisfy { $0 >= 0 }, "ReLU: max|Δ|/rms \(rError) for \([n, cin, cout, h, w])")
        }
        let plain = x.winogradConv2dChannelsLast(kernel, bias: nil)
        #expect(Self.relativeError(plain, Self.direct(x, weight, nil)) <= Self.bound)
    }

    @Test("at the pixel decoder's width (256 channels) the error stays within the bound, near im2col's")
    func wideChannels() {
        let (h, w, c) = (9, 14, 256)
        let x = Tensor.randomNormal(shape: [1, h, w, c], seed: 41)
        // He-scaled weights like a trained layer's (the relative error does not depend on the scale).
        let weight = Tensor.randomNormal(shape: [c, c, 3, 3], seed: 42) * (1 / Float(9 * c).squareRoot())
        let expected = Self.direct(x, weight, nil)
        let winograd = Self.relativeError(x.winogradConv2dChannelsLast(WinogradKernel(weight: weight), bias: nil), expected)
        let taps = Self.relativeError(x.conv2dChannelsLast(ConvolutionTaps(weight: weight, winograd: false), bias: nil), expected)
        #expect(winograd <= Self.bound, "Winograd max|Δ|/rms \(winograd), GEMM per tap \(taps)")
        #expect(taps <= 1e-5, "GEMM per tap max|Δ|/rms \(taps)")
    }

    @Test("conv2dChannelsLast and the NCHW entry dispatch by the rule, build the transform on first use, and agree with the GEMM paths")
    func dispatch() {
        #expect(Tensor.winogradPays(images: 1, cin: 256, cout: 256, height: 90, width: 160, policy: .automatic))
        #expect(!Tensor.winogradPays(images: 1, cin: 256, cout: 256, height: 90, width: 160, policy: .never))
        #expect(Tensor.winogradPays(images: 1, cin: 1, cout: 1, height: 1, width: 1, policy: .always))
        #expect(!Tensor.winogradPays(images: 1, cin: 3, cout: 64, height: 90, width: 160, policy: .automatic))
        // ResNet-50's layer4 3×3 (512 channels, 12×20 = 15 tiles per image): from 32 tiles over the batch.
        #expect(!Tensor.winogradPays(images: 2, cin: 512, cout: 512, height: 12, width: 20, policy: .automatic))
        #expect(Tensor.winogradPays(images: 3, cin: 512, cout: 512, height: 12, width: 20, policy: .automatic))

        let (n, h, w, cin, cout) = (2, 21, 18, 48, 40)
        #expect(Tensor.winogradPays(images: n, cin: cin, cout: cout, height: h, width: w, policy: .automatic))
        let x = Tensor.randomNormal(shape: [n, h, w, cin], seed: 51)
        let weight = Tensor.randomNormal(shape: [cout, cin, 3, 3], seed: 52)
        let bias = Tensor.randomNormal(shape: [cout], seed: 53)
        let expected = Self.direct(x, weight, bias)
        let taps = ConvolutionTaps(weight: weight)
        #expect(taps.winograd?.isBuilt == false)
        let auto = x.conv2dChannelsLast(taps, bias: bias)
        if Tensor.winogradPolicy != .never {
            #expect(taps.winograd?.isBuilt == true)
        }
        let gemm = x.conv2dChannelsLast(ConvolutionTaps(weight: weight, winograd: false), bias: bias)
        #expect(Self.relativeError(auto, expected) <= Self.bound)
        #expect(Self.relativeError(gemm, expected) <= 1e-5)
        // The NCHW entry (the backbone's layers) against plain conv2d and the reference.
        let nchw = x.channelsFirst()
        let viaWinograd = nchw.conv2d(winograd: LazyWinogradKernel(weight: weight), bias: bias)
        #expect(viaWinograd.shape == [n, cout, h, w])
        #expect(Self.relativeError(viaWinograd.channelsLast(), expected) <= Self.bound)
        #expect(Self.relativeError(nchw.conv2d(weight: weight, bias: bias, padding: 1).channelsLast(), expected) <= 1e-5)
    }

    @Test("the transformed kernel holds G g Gᵀ (a delta kernel transforms to the outer product of G's column)")
    func kernelTransform() {
        // g = e_(1,1) (centre tap): U[r][c] = G[r][1] · G[c][1].
        var values = [Float](repeating: 0, count: 9)
        values[4] = 1
        let kernel = WinogradKernel(weight: Tensor(shape: [1, 1, 3, 3], elements: values))
        let u = kernel.transformed.scalars
        for r in 0..<6 {
            for c in 0..<6 {
                let expected = WinogradKernel.g[r][1] * WinogradKernel.g[c][1]
                #expect(abs(Double(u[r * 6 + c]) - expected) <= 1e-7 * Swift.max(1, abs(expected)))
            }
        }
    }
}
