// Normalisation layers: LayerNorm, GroupNorm, FrozenBatchNorm (and folding it into a convolution).

#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// torch `F.layer_norm` over the last dimension: `(x − mean) / sqrt(var + eps) · weight + bias`,
    /// biased variance.
    ///
    /// Numerics: the mean and variance of a row accumulate in Double (two passes), the normalisation
    /// itself is Float. One choice for every LayerNorm of the model (transformer, text encoder, pixel
    /// decoder): rows are short (C ≤ 1024), so the Double sums cost nothing next to the GEMMs around
    /// them, and they keep the statistics exact to Float rounding whatever the row's offset.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        // Out of place: reads this tensor and writes a new one (normalising a copy in place would
        // first copy every row, since `self` is still referenced here).
        let x = contiguous()
        return x.withUnsafeBufferPointer { src in
            Tensor(shape: shape) { dst in
                Tensor.layerNormRows(src.baseAddress, dst.baseAddress, count: dst.count, d: shape[rank - 1],
                                     weight: weight, bias: bias, eps: eps, shape: shape)
            }
        }
    }

    /// Mean and `1 / sqrt(biased variance + eps)` of `count` values: two passes accumulating in Double,
    /// the numeric choice of every normalisation here (LayerNorm rows, GroupNorm groups of up to ~10⁶
    /// values), so no statistic loses digits to the magnitude of the values. Eight Double lanes per
    /// pass (summed at the end), then the tail.
    @inline(__always)
    static func moments(_ x: UnsafePointer<Float>, count: Int, eps: Float) -> (mean: Float, rstd: Float) {
        let raw = UnsafeRawPointer(x)
        var lanes = SIMD8<Double>()
        var i = 0
        while i + 8 <= count {
            lanes += SIMD8<Double>(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            i += 8
        }
        var sum = lanes.sum()
        while i < count { sum += Double(x[i]); i += 1 }
        let mean = sum / Double(count)
        let meanLanes = SIMD8<Double>(repeating: mean)
        lanes = SIMD8<Double>()
        i = 0
        while i + 8 <= count {
            let c = SIMD8<Double>(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)) - meanLanes
            lanes += c * c
            i += 8
        }
        var sq = lanes.sum()
        while i < count { let c = Double(x[i]) - mean; sq += c * c; i += 1 }
        return (Float(mean), Float(1 / (sq / Double(count) + Double(eps)).squareRoot()))
    }

    /// `layerNorm(weight:bias:eps:)` in place (no new activation buffer when this tensor owns its
    /// storage).
    public mutating func applyLayerNorm(weight: Tensor?, bias: Tensor?, eps: Float) {
        let d = shape[rank - 1], shape = shape
        withUnsafeMutableBufferPointer { buffer in
            Tensor.layerNormRows(UnsafePointer(buffer.baseAddress), buffer.baseAddress, count: buffer.count, d: d,
                                 weight: weight, bias: bias, eps: eps, shape: shape)
        }
    }

    /// LayerNorm of the `count / d` rows of `d` floats at `src` into `dst` (which may be `src`), rows
    /// in parallel: `(x − mean) · rstd · weight + bias` in Float, in that order.
    static func layerNormRows(_ src: UnsafePointer<Float>?, _ dst: UnsafeMutablePointer<Float>?, count: Int, d: Int,
                              weight: Tensor?, bias: Tensor?, eps: Float, shape: [Int]) {
        if let weight { precondition(weight.shape == [d], "layerNorm: weight \(weight.shape) does not match input \(shape)") }
        if let bias { precondition(bias.shape == [d], "layerNorm: bias \(bias.shape) does not match input \(shape)") }
        let rows = d == 0 ? 0 : count / d
        guard rows > 0, let src, let dst else { return }
        let w = weight?.contiguous(), b = bias?.contiguous()
        let ps = UncheckedSendable(src), pd = UncheckedSendable(dst)
        let pw = UncheckedSendable(w.map { UnsafePointer($0.storage.base + $0.offset) })
        let pb = UncheckedSendable(b.map { UnsafePointer($0.storage.base + $0.offset) })
        withExtendedLifetime((w, b)) {
            Parallel.forEach(rows, minChunk: Swift.max(1, 16384 / d)) { range in
                for r in range {
                    let x = ps.value + r * d, y = pd.value + r * d
                    let (mean, rstd) = Tensor.moments(x, count: d, eps: eps)
                    switch (pw.value, pb.value) {
                    case let (w?, b?): for i in 0..<d { y[i] = (x[i] - mean) * rstd * w[i] + b[i] }
                    case let (w?, nil): for i in 0..<d { y[i] = (x[i] - mean) * rstd * w[i] }
                    case let (nil, b?): for i in 0..<d { y[i] = (x[i] - mean) * rstd + b[i] }
                    case (nil, nil): for i in 0..<d { y[i] = (x[i] - mean) * rstd }
                    }
                }
            }
        }
    }

    /// torch `F.group_norm` on (N, C, …): statistics per sample and group of C/groups channels over all
    /// spatial positions (biased variance), then the per-channel affine `weight`, `bias`.
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        precondition(rank >= 2 && groups > 0 && shape[1] % groups == 0, "groupNorm: \(groups) groups do not divide the channels of \(shape)")
        let n = shape[0], c = shape[1], spatial = shape[2...].reduce(1, *)
        if let weight { precondition(weight.shape == [c], "groupNorm: weight \(weight.shape) does not match input \(shape)") }
        if let bias { precondition(bias.shape == [c], "groupNorm: bias \(bias.shape) does not match input \(shape)") }
        let cpg = c / groups, groupSize = cpg * spatial
        let w = weight?.contiguous(), b = bias?.contiguous()
        return withUnsafeBufferPointer { src in
            Tensor(shape: shape) { dst in
                guard n * c * spatial > 0, let s0 = src.baseAddress, let d0 = dst.baseAddress else { return }
                let ps = UncheckedSendable(s0), pd = UncheckedSendable(d0)
                let pw = UncheckedSendable(w.map { UnsafePointer($0.storage.base + $0.offset) })
                let pb = UncheckedSendable(b.map { UnsafePointer($0.storage.base + $0.offset) })
                withExtendedLifetime((w, b)) {
                    Parallel.forEach(n * groups, minChunk: Swift.max(1, 16384 / Swift.max(groupSize, 1))) { range in
                        for ng in range {
                            let x = ps.value + ng * groupSize, y = pd.value + ng * groupSize
                            let (meanF, rstd) = Tensor.moments(x, count: groupSize, eps: eps)
                            let g = ng % groups
                            for ci in 0..<cpg {
                                let ch = g * cpg + ci
                                let scale = rstd * (pw.value?[ch] ?? 1)
                                let shift = (pb.value?[ch] ?? 0) - meanF * scale
                                let xc = x + ci * spatial, yc = y + ci * spatial
                                for i in 0..<spatial { yc[i] = xc[i] * scale + shift }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Per-channel scale and shift of a frozen batch norm: `s = w / sqrt(rv + eps)`, `t = b − rm·s`.
    static func frozenBatchNormCoefficients(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float) -> (scale: [Float], shift: [Float]) {
        let c = weight.count
        precondition(weight.rank == 1 && bias.shape == weight.shape && runningMean.shape == weight.shape && runningVar.shape == weight.shape,
                     "frozenBatchNorm: parameter shapes \(weight.shape) \(bias.shape) \(runningMean.shape) \(runningVar.shape) differ")
        let w = weight.scalars, b = bias.scalars, rm = runningMean.scalars, rv = runningVar.scalars
        var scale = [Float](repeating: 0, count: c), shift = scale
        for i in 0..<c {
            // Official FrozenBatchNorm2d: scale = w * (rv + eps).rsqrt(); bias = b - rm * scale.
            scale[i] = w[i] * (1 / (rv[i] + eps).squareRoot())
            shift[i] = b[i] - rm[i] * scale[i]
        }
        return (scale, shift)
    }

    /// Official `FrozenBatchNorm2d` on (N, C, H, W): `y = x·s + (b − rm·s)`, `s = w / sqrt(rv + eps)`.
    public func frozenBatchNorm(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5) -> Tensor {
        precondition(rank >= 2 && shape[1] == weight.count, "frozenBatchNorm: input \(shape) does not match \(weight.shape) parameters")
        let (scale, shift) = Tensor.frozenBatchNormCoefficients(weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar, eps: eps)
        return channelAffine(scale: scale, shift: shift)
    }

    /// `y[n, c, …] = x[n, c, …] · scale[c] + shift[c]`.
    func channelAffine(scale: [Float], shift: [Float]) -> Tensor {
        let n = shape[0], c = shape[1], spatial = shape[2...].reduce(1, *)
        return withUnsafeBufferPointer { src in
            Tensor(shape: shape) { dst in
                guard n * c * spatial > 0, let s0 = src.baseAddress, let d0 = dst.baseAddress else { return }
                let ps = UncheckedSendable(s0), pd = UncheckedSendable(d0)
                scale.withUnsafeBufferPointer { sc in
                    shift.withUnsafeBufferPointer { sh in
                        let psc = UncheckedSendable(sc.baseAddress!), psh = UncheckedSendable(sh.baseAddress!)
                        Parallel.forEach(n * c, minChunk: Swift.max(1, 16384 / Swift.max(spatial, 1))) { range in
                            for plane in range {
                                let ch = plane % c
                                let s = psc.value[ch], t = psh.value[ch]
                                let x = ps.value + plane * spatial, y = pd.value + plane * spatial
                                for i in 0..<spatial { y[i] = x[i] * s + t }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Folds a frozen batch norm into the convolution before it: `W'[o] = W[o]·s[o]`,
    /// `b'[o] = (b[o] or 0)·s[o] + (bn.b[o] − rm[o]·s[o])`, so `conv(x, W', b') = bn(conv(x, W, b))`.
    public static func foldBatchNorm(convWeight: Tensor, convBias: Tensor?, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5) -> (weight: Tensor, bias: Tensor) {
        let cout = convWeight.shape[0]
        precondition(weight.count == cout, "foldBatchNorm: conv weight \(convWeight.shape) does not match \(weight.shape) parameters")
        if let convBias { precondition(convBias.shape == [cout], "foldBatchNorm: conv bias \(convBias.shape) does not match conv weight \(convWeight.shape)") }
        let (scale, shift) = frozenBatchNormCoefficients(weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar, eps: eps)
        let per = convWeight.count / Swift.max(cout, 1)
        let w = convWeight.scalars
        let newWeight = Tensor(shape: convWeight.shape) { dst in
            for o in 0..<cout { for i in 0..<per { dst[o * per + i] = w[o * per + i] * scale[o] } }
        }
        let cb = convBias?.scalars ?? [Float](repeating: 0, count: cout)
        let newBias = Tensor(shape: [cout], elements: (0..<cout).map { cb[$0] * scale[$0] + shift[$0] })
        return (newWeight, newBias)
    }
}
