// Winograd F(4×4, 3×3) convolution for 3×3, stride-1, dilation-1, padding-1 convolutions (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016), channels-last, with the dispatch rule that
// decides when it replaces the GEMM-per-tap / im2col paths.
//
// Each 4×4 block of outputs ("tile") is computed from the 6×6 input patch around it as
// Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A, and summed over input channels. The 36 element-wise products summed
// over Cin are 36 GEMMs (tiles × Cin) · (Cin × Cout), one per position of the 6×6 transform: 36
// multiply-adds per 16 outputs and channel pair instead of 144, a 4× smaller product. The transforms
// (Bᵀ d B per tile and input channel, Aᵀ m A per tile and output channel) are additions and small
// multiples, vectorised over 16 channels at a time (channels-last makes a pixel a row of channels).
//
// Interpolation points and accuracy: the transforms mix values with factors up to 8, so float32 rounding
// is amplified compared with a direct sum. Measured on random N(0,1) inputs, 256 → 256 channels, 45×80,
// against a float64 direct convolution (max |error| / RMS of the output): im2col 2.9e-6, F(2,3) 3.1e-6,
// F(4,3) with Lavin's points 0, ±1, ±2, ∞ 7.3e-5, F(4,3) with 0, ±1, ½, −2, ∞ 2.7e-5 (RMS error 2.0e-6
// against 3.2e-6) — the points used here (Barabasz et al., "Error analysis and improving the accuracy
// of Winograd convolution", 2020, choose points of mixed magnitude for the same reason). That is well
// inside the model's golden tolerances (3e-4 × RMS), so F(4,3) with its 4× fewer multiply-adds is used
// rather than F(2,3) (2.25×). This implementation: 1.2e-5 at 256 channels (9×14; the GEMM-per-tap path
// 1.0e-6 on the same data), 2.1e-5 between the whole R50 pixel decoder's outputs with and without it;
// `WinogradTests` checks a 1e-4 bound.
import Synchronization
//
// The matrices follow from the points p₀…p₄ (modified Toom-Cook with the point ∞): with
// M(x) = ∏ (x − pᵢ), row k < 5 of Bᵀ holds the coefficients of M(x)/(x − p_k), the last row those of
// M(x); row k < 5 of G is (1, p_k, p_k²)/∏_{l≠k}(p_k − p_l), the last (0, 0, 1); column k < 5 of Aᵀ is
// (1, p_k, p_k², p_k³), the last (0, 0, 0, 1).

/// A 3×3 convolution weight (Cout, Cin, 3, 3) transformed once for `Tensor.winogradConv2dChannelsLast`:
/// U = G g Gᵀ per (output, input) channel pair, as 36 matrices (Cin × Cout), one per transform position.
///
/// The transform is computed in Double and rounded once. It is 4× the size of the weight (36 values
/// per channel pair instead of 9), so layers build it only when they can use it.
public struct WinogradKernel: Sendable {
    /// (36, Cin, Cout)
    let transformed: Tensor
    public let inChannels: Int
    public let outChannels: Int

    /// G of F(4, 3) (6×3), points 0, 1, −1, ½, −2, ∞ (see the file header).
    static let g: [[Double]] = [
        [1, 0, 0],
        [1.0 / 3, 1.0 / 3, 1.0 / 3],
        [-1.0 / 3, 1.0 / 3, -1.0 / 3],
        [-16.0 / 15, -8.0 / 15, -4.0 / 15],
        [1.0 / 15, -2.0 / 15, 4.0 / 15],
        [0, 0, 1],
    ]

    /// - Parameter weight: the checkpoint's (Cout, Cin, 3, 3) weight.
    public init(weight: Tensor) {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3,
                     "WinogradKernel expects a (Cout, Cin, 3, 3) weight, got \(weight.shape)")
        let (cout, cin) = (weight.shape[0], weight.shape[1])
        inChannels = cin
        outChannels = cout
        let g = Self.g
        let source = weight.contiguous()
        transformed = source.withUnsafeBufferPointer { wp in
            Tensor(shape: [36, cin, cout]) { u in
                guard cin * cout > 0 else { return }
                withUnsafeTemporaryAllocation(of: Double.self, capacity: 18) { t in
                    for o in 0..<cout {
                        for i in 0..<cin {
                            let k = wp.baseAddress! + (o * cin + i) * 9
                            // t = G · k (6×3), then u = t · Gᵀ (6×6).
                            for r in 0..<6 {
                                for c in 0..<3 {
                                    t[r * 3 + c] = g[r][0] * Double(k[c]) + g[r][1] * Double(k[3 + c]) + g[r][2] * Double(k[6 + c])
                                }
                            }
                            for r in 0..<6 {
                                for c in 0..<6 {
                                    let v = t[r * 3] * g[c][0] + t[r * 3 + 1] * g[c][1] + t[r * 3 + 2] * g[c][2]
                                    u[((r * 6 + c) * cin + i) * cout + o] = Float(v)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A 3×3 convolution weight whose `WinogradKernel` is built the first time a convolution picks Winograd
/// for it, then kept: layers hold one per 3×3 stride-1 weight, and a transform the dispatch rule never
/// picks (ResNet-50's 512-channel layer4 on single 360×640 frames) costs no memory (it is 4× the
/// weight) and no load time.
///
/// Thread-safe: concurrent first uses build the transform once, under a lock.
public final class LazyWinogradKernel: Sendable {
    /// The (Cout, Cin, 3, 3) weight.
    public let weight: Tensor
    private let built = Mutex<WinogradKernel?>(nil)

    public init(weight: Tensor) {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3,
                     "LazyWinogradKernel expects a (Cout, Cin, 3, 3) weight, got \(weight.shape)")
        self.weight = weight
    }

    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }

    /// The transform, built on the first call.
    public var kernel: WinogradKernel {
        built.withLock { kernel in
            if let kernel { return kernel }
            let transform = WinogradKernel(weight: weight)
            kernel = transform
            return transform
        }
    }

    /// Whether `kernel` has been built.
    public var isBuilt: Bool { built.withLock { $0 != nil } }
}

extension Tensor {
    /// When the 3×3 stride-1 convolutions use Winograd F(4×4, 3×3): `.automatic` (the default) where
    /// `winogradPays` says it is faster, `.never` (the GEMM-per-tap and im2col paths only: A/B benchmarks,
    /// bit-for-bit comparisons with earlier builds), `.always` (tests of the Winograd path on small
    /// shapes). The environment variable `REFERSTREAM_WINOGRAD` (`0`/`off` → never, `1`/`always` →
    /// always) sets it at start-up; set it before running convolutions, not concurrently with them.
    public enum WinogradPolicy: Sendable {
        case automatic, never, always
    }

    // Safety: written at start-up or by benchmarks/tests between convolutions; every other access reads.
    nonisolated(unsafe) public static var winogradPolicy: WinogradPolicy = {
        switch ProcessInfoEnvironment.value("REFERSTREAM_WINOGRAD")?.lowercased() {
        case "0", "off", "never", "false": return .never
        case "1", "on", "always", "true": return .always
        default: return .automatic
        }
    }()

    /// Tiles (4×4 output blocks) per GEMM block of the Winograd path: each worker transforms this many
    /// tiles into 36 (tiles × Cin) matrices, multiplies them, and transforms the 36 (tiles × Cout)
    /// products back. A tuning knob for benchmarks; set it before running convolutions.
    nonisolated(unsafe) public static var winogradTileBlock = 96

    /// The one dispatch rule for Winograd F(4×4, 3×3) on a 3×3, stride-1, padding-1 convolution of
    /// `images` maps of `height`×`width`, `cin` → `cout` channels (`policy` overrides it).
    ///
    /// Winograd does 4× fewer multiply-adds but adds per-tile transforms and runs GEMMs whose row count
    /// is the number of 4×4 tiles in a block; every block reads the whole transformed kernel
    /// (36·Cin·Cout floats, 4× the weight). So it pays unless the channel counts are tiny (transforms
    /// dominate) or there are too few tiles for the kernel's size (skinny GEMMs that mostly stream the
    /// kernel). Measured with `referstream-bench winograd` (release, 2 threads, same-run A/B, machine
    /// loaded, CPU-time ratios GEMM path ÷ Winograd): 16 → 16 channels 1.2× (8×8) to 1.8× (45×80); 64
    /// and 128 channels 1.9–3.3× at every size from 8×8; 256 → 256 channels 2.0–2.4× from 8×8 (4 tiles)
    /// to 90×160; 512 → 512 channels at 12×20 (15 tiles) 0.6–0.8× for one image and 1.0× for two, 1.9×
    /// at 16×32 (32 tiles). Hence: at least 16 channels in and out, and at least Cin·Cout / 8192 tiles
    /// over all images (8 for 256 → 256, 32 for 512 → 512).
    static func winogradPays(images: Int, cin: Int, cout: Int, height: Int, width: Int,
                             policy: WinogradPolicy = Tensor.winogradPolicy) -> Bool {
        switch policy {
        case .never: return false
        case .always: return true
        case .automatic:
            let tiles = images * ((height + 3) / 4) * ((width + 3) / 4)
            return cin >= 16 && cout >= 16 && tiles >= Swift.max(1, cin * cout / 8192)
        }
    }

    /// torch `F.conv2d(x, weight, bias, stride=1, padding=1)` for a 3×3 kernel on a channels-last batch
    /// (N, H, W, Cin) → (N, H, W, Cout), by Winograd F(4×4, 3×3); then ReLU when `relu`.
    ///
    /// The output tiles of all images are split into blocks of about `winogradTileBlock` tiles, spread
    /// evenly over `Parallel.threadCount` workers; each worker, on its own thread, transforms its
    /// block's input patches into 36 (tiles × Cin) matrices, runs the 36 GEMMs with the transformed
    /// kernel (single-threaded OpenBLAS calls), and transforms the products back into its tiles of the
    /// output (+ bias). Equal to the direct convolution up to float rounding amplified by the
    /// transforms (see the file header).
    public func winogradConv2dChannelsLast(_ kernel: WinogradKernel, bias: Tensor?, relu: Bool = false) -> Tensor {
        winogradConv2dChannelsLast(kernel, bias: bias, relu: relu, tileBlock: Tensor.winogradTileBlock, workers: nil)
    }

    /// `winogradConv2dChannelsLast` with an explicit tile block and worker count (tests exercise
    /// partial blocks and the split with them).
    func winogradConv2dChannelsLast(_ kernel: WinogradKernel, bias: Tensor?, relu: Bool, tileBlock: Int, workers: Int?) -> Tensor {
        precondition(rank == 4 && shape[3] == kernel.inChannels,
                     "winogradConv2dChannelsLast: input \(shape) does not fit a kernel of \(kernel.inChannels) input channels")
        let (n, h, w, cin) = (shape[0], shape[1], shape[2], shape[3])
        let cout = kernel.outChannels
        if let bias { precondition(bias.shape == [cout], "winogradConv2dChannelsLast: bias \(bias.shape) for \(cout) channels") }
        let x = contiguous(), b = bias?.contiguous()
        return Tensor(shape: [n, h, w, cout]) { out in
            guard n * h * w * cout > 0, let o = out.baseAddress else { return }
            let geometry = WinogradGeometry(images: n, height: h, width: w, cin: cin, cout: cout)
            x.withUnsafeBufferPointer { xp in
                kernel.transformed.withUnsafeBufferPointer { up in
                    let biasPointer = b.map { $0.storage.base + $0.offset }
                    withExtendedLifetime(b) {
                        geometry.run(input: xp.baseAddress, kernel: up.baseAddress, bias: biasPointer.map { UnsafePointer($0) },
                                     relu: relu, output: o, tileBlock: tileBlock, workers: workers ?? Parallel.threadCount)
                    }
                }
            }
        }
    }
}

/// Reads the process environment (Foundation-free, like the rest of `Tensor`).
enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        #if canImport(Glibc)
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
        #else
        return nil
        #endif
    }
}

/// The tiling of one Winograd F(4×4, 3×3) convolution (padding 1) over channels-last images.
struct WinogradGeometry {
    let images, height, width, cin, cout: Int
    let tilesY, tilesX: Int

    init(images: Int, height: Int, width: Int, cin: Int, cout: Int) {
        (self.images, self.height, self.width, self.cin, self.cout) = (images, height, width, cin, cout)
        tilesY = (height + 3) / 4
        tilesX = (width + 3) / 4
    }

    var tilesPerImage: Int { tilesY * tilesX }

    /// The image of tile `tile` (numbered over all images, row-major within one) and its top-left
    /// output pixel.
    @inline(__always)
    func origin(ofTile tile: Int) -> (image: Int, y: Int, x: Int) {
        let within = tile % tilesPerImage
        return (tile / tilesPerImage, 4 * (within / tilesX), 4 * (within % tilesX))
    }

    /// Runs the convolution; `input` and `kernel` may be nil only when Cin is 0.
    func run(input: UnsafePointer<Float>?, kernel: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, relu: Bool,
             output: UnsafeMutablePointer<Float>, tileBlock: Int, workers: Int) {
        let total = images * tilesPerImage
        // Blocks of nearly equal size, a multiple of the worker count, each at most `tileBlock` tiles.
        let workers = Swift.max(1, Swift.min(workers, total))
        let blocksPerWorker = Swift.max(1, (total + workers * tileBlock - 1) / (workers * Swift.max(tileBlock, 1)))
        let blocks = workers * blocksPerWorker
        let block = (total + blocks - 1) / blocks
        let (src, weights, dst, add) = (UncheckedSendable(input), UncheckedSendable(kernel), UncheckedSendable(output), UncheckedSendable(bias))
        Parallel.forEach(workers) { range in
            for worker in range {
                let lo = worker * blocksPerWorker * block, hi = Swift.min(total, lo + blocksPerWorker * block)
                guard lo < hi else { continue }
                // This worker's GEMMs run on its own thread (no nested split).
                TensorRuntime.withThreadCount(1) {
                    ScratchPool.shared.withBuffer(count: 36 * block * (cin + cout)) { scratch in
                        let v = scratch, m = scratch + 36 * block * cin
                        var start = lo
                        while start < hi {
                            let count = Swift.min(block, hi - start)
                            if cin > 0, let x = src.value, let u = weights.value {
                                transformInput(x, tiles: start..<(start + count), into: v, stride: block)
                                for position in 0..<36 {
                                    BLAS.sgemm(m: count, n: cout, k: cin, a: v + position * block * cin, lda: cin,
                                               b: u + position * cin * cout, ldb: cout,
                                               c: m + position * block * cout, ldc: cout)
                                }
                            } else {
                                m.update(repeating: 0, count: 36 * block * cout)
                            }
                            transformOutput(m, stride: block, tiles: start..<(start + count), bias: add.value, relu: relu, into: dst.value)
                            start += count
                        }
                    }
                }
            }
        }
    }

    /// Lanes per vector of the transforms.
    static let lanes = 16
    typealias Vector = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ count: Int) -> Vector {
        if count == lanes { return UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }
        var v = Vector()
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count == lanes { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self); return }
        for i in 0..<count { p[i] = v[i] }
    }

    /// Bᵀ d of one column of six values (F(4, 3), points 0, 1, −1, ½, −2, ∞).
    @inline(__always)
    static func inputColumn(_ d0: Vector, _ d1: Vector, _ d2: Vector, _ d3: Vector, _ d4: Vector, _ d5: Vector)
        -> (Vector, Vector, Vector, Vector, Vector, Vector) {
        (d0 - 1.5 * d1 - 2 * d2 + 1.5 * d3 + d4,
         d4 + 2.5 * d3 + 0.5 * d2 - d1,
         d4 + 0.5 * d3 - 2.5 * d2 + d1,
         d4 + 2 * d3 - d2 - 2 * d1,
         d4 - 0.5 * d3 - d2 + 0.5 * d1,
         d1 - 1.5 * d2 - 2 * d3 + 1.5 * d4 + d5)
    }

    /// Aᵀ m of one column of six values.
    @inline(__always)
    static func outputColumn(_ m0: Vector, _ m1: Vector, _ m2: Vector, _ m3: Vector, _ m4: Vector, _ m5: Vector)
        -> (Vector, Vector, Vector, Vector) {
        let s = m1 + m2, d = m1 - m2
        return (m0 + s + m3 + m4, d + 0.5 * m3 - 2 * m4, s + 0.25 * m3 + 4 * m4, d + 0.125 * m3 - 8 * m4 + m5)
    }

    /// V[position][tile][channel] = (Bᵀ d B)[position] of each tile's 6×6 input patch (zero outside
    /// the image), tiles numbered over all images; `stride` tiles between positions.
    func transformInput(_ x: UnsafePointer<Float>, tiles: Range<Int>, into v: UnsafeMutablePointer<Float>, stride: Int) {
        let lanes = Self.lanes
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 36) { tmp in
            let t = tmp.baseAddress!
            for tile in tiles {
                let local = tile - tiles.lowerBound, origin = origin(ofTile: tile)
                let (y0, x0) = (origin.y - 1, origin.x - 1)  // the patch starts one pixel into the padding
                let frame = x + origin.image * height * width * cin
                var c = 0
                while c < cin {
                    let count = Swift.min(lanes, cin - c)
                    // Columns j of the patch: t[k·6 + j] = (Bᵀ d)[k][j].
                    for j in 0..<6 {
                        let xx = x0 + j
                        var d = (Vector(), Vector(), Vector(), Vector(), Vector(), Vector())
                        if xx >= 0 && xx < width {
                            let column = frame + xx * cin + c
                            @inline(__always) func row(_ i: Int) -> Vector {
                                let yy = y0 + i
                                return yy >= 0 && yy < height ? Self.load(column + yy * width * cin, count) : Vector()
                            }
                            d = (row(0), row(1), row(2), row(3), row(4), row(5))
                        }
                        let r = Self.inputColumn(d.0, d.1, d.2, d.3, d.4, d.5)
                        t[j] = r.0; t[6 + j] = r.1; t[12 + j] = r.2; t[18 + j] = r.3; t[24 + j] = r.4; t[30 + j] = r.5
                    }
                    // Rows k: V[k·6 + l] = ((Bᵀ d) B)[k][l].
                    for k in 0..<6 {
                        let q = t + 6 * k
                        let r = Self.inputColumn(q[0], q[1], q[2], q[3], q[4], q[5])
                        let base = v + ((6 * k) * stride + local) * cin + c
                        let step = stride * cin
                        Self.store(r.0, base, count)
                        Self.store(r.1, base + step, count)
                        Self.store(r.2, base + 2 * step, count)
                        Self.store(r.3, base + 3 * step, count)
                        Self.store(r.4, base + 4 * step, count)
                        Self.store(r.5, base + 5 * step, count)
                    }
                    c += lanes
                }
            }
        }
    }

    /// Y = Aᵀ M A (+ bias, ReLU) of each tile, written to the output pixels inside the image.
    func transformOutput(_ m: UnsafePointer<Float>, stride: Int, tiles: Range<Int>, bias: UnsafePointer<Float>?, relu: Bool,
                         into out: UnsafeMutablePointer<Float>) {
        let lanes = Self.lanes
        withUnsafeTemporaryAllocation(of: Vector.self, capacity: 24) { tmp in
            let t = tmp.baseAddress!
            for tile in tiles {
                let local = tile - tiles.lowerBound, origin = origin(ofTile: tile)
                let (y0, x0) = (origin.y, origin.x)
                let rows = Swift.min(4, height - y0), columns = Swift.min(4, width - x0)
                let frame = out + origin.image * height * width * cout
                var c = 0
                while c < cout {
                    let count = Swift.min(lanes, cout - c)
                    let step = stride * cout
                    // Columns l: t[i·6 + l] = (Aᵀ M)[i][l].
                    for l in 0..<6 {
                        let base = m + (l * stride + local) * cout + c
                        let r = Self.outputColumn(Self.load(base, count), Self.load(base + 6 * step, count),
                                                  Self.load(base + 12 * step, count), Self.load(base + 18 * step, count),
                                                  Self.load(base + 24 * step, count), Self.load(base + 30 * step, count))
                        t[l] = r.0; t[6 + l] = r.1; t[12 + l] = r.2; t[18 + l] = r.3
                    }
                    let shift = bias.map { Self.load($0 + c, count) } ?? Vector()
                    for i in 0..<rows {
                        let q = t + 6 * i
                        let r = Self.outputColumn(q[0], q[1], q[2], q[3], q[4], q[5])
                        var values = (r.0 + shift, r.1 + shift, r.2 + shift, r.3 + shift)
                        if relu {
                            let zero = Vector()
                            values = (values.0.replacing(with: zero, where: values.0 .< zero), values.1.replacing(with: zero, where: values.1 .< zero),
                                      values.2.replacing(with: zero, where: values.2 .< zero), values.3.replacing(with: zero, where: values.3 .< zero))
                        }
                        let pixel = frame + ((y0 + i) * width + x0) * cout + c
                        Self.store(values.0, pixel, count)
                        if columns > 1 { Self.store(values.1, pixel + cout, count) }
                        if columns > 2 { Self.store(values.2, pixel + 2 * cout, count) }
                        if columns > 3 { Self.store(values.3, pixel + 3 * cout, count) }
                    }
                    c += lanes
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
