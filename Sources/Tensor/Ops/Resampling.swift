// Resizing of (N, C, H, W) maps: torch `F.interpolate` nearest (legacy rule) and bilinear.

/// How `interpolate` computes output pixels.
public enum InterpolationMode: Sendable, Equatable {
    /// torch `mode='nearest'` (legacy): `src = min(⌊dst · (in/out)⌋, in − 1)`, the scale in Float.
    case nearest
    /// torch `mode='bilinear'` without antialiasing.
    case bilinear(alignCorners: Bool)
}

extension Tensor {
    /// torch `F.interpolate(x, size, mode)` on (N, C, H, W), coordinates computed in Float as torch does.
    public func interpolate(size: (height: Int, width: Int), mode: InterpolationMode) -> Tensor {
        precondition(rank == 4 && size.height > 0 && size.width > 0, "interpolate: input \(shape) to size \(size)")
        let planes = shape[0] * shape[1], ih = shape[2], iw = shape[3], oh = size.height, ow = size.width
        switch mode {
        case .nearest:
            let ys = Tensor.nearestIndices(input: ih, output: oh), xs = Tensor.nearestIndices(input: iw, output: ow)
            return withUnsafeBufferPointer { src in
                Tensor(shape: [shape[0], shape[1], oh, ow]) { dst in
                    guard planes > 0, let s0 = src.baseAddress, let d0 = dst.baseAddress else { return }
                    let ps = UncheckedSendable(s0), pd = UncheckedSendable(d0)
                    ys.withUnsafeBufferPointer { yb in
                        xs.withUnsafeBufferPointer { xb in
                            let py = UncheckedSendable(yb), px = UncheckedSendable(xb)
                            Parallel.forEach(planes, minChunk: Swift.max(1, 16384 / (oh * ow))) { range in
                                for p in range {
                                    let x = ps.value + p * ih * iw, y = pd.value + p * oh * ow
                                    for oy in 0..<oh {
                                        let row = x + py.value[oy] * iw, out = y + oy * ow
                                        for ox in 0..<ow { out[ox] = row[px.value[ox]] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        case .bilinear(let alignCorners):
            let ys = Tensor.bilinearTaps(input: ih, output: oh, alignCorners: alignCorners)
            let xs = Tensor.bilinearTaps(input: iw, output: ow, alignCorners: alignCorners)
            return withUnsafeBufferPointer { src in
                Tensor(shape: [shape[0], shape[1], oh, ow]) { dst in
                    guard planes > 0, let s0 = src.baseAddress, let d0 = dst.baseAddress else { return }
                    let ps = UncheckedSendable(s0), pd = UncheckedSendable(d0)
                    ys.withUnsafeBufferPointer { yb in
                        xs.withUnsafeBufferPointer { xb in
                            let py = UncheckedSendable(yb), px = UncheckedSendable(xb)
                            Parallel.forEach(planes * oh, minChunk: Swift.max(1, 16384 / ow)) { range in
                                for r in range {
                                    let p = r / oh, oy = r % oh
                                    let ty = py.value[oy]
                                    let x = ps.value + p * ih * iw, out = pd.value + r * ow
                                    let r0 = x + ty.i0 * iw, r1 = x + ty.i1 * iw
                                    for ox in 0..<ow {
                                        let tx = px.value[ox]
                                        // torch's order: λy0·(λx0·a + λx1·b) + λy1·(λx0·c + λx1·d).
                                        out[ox] = ty.l0 * (tx.l0 * r0[tx.i0] + tx.l1 * r0[tx.i1])
                                            + ty.l1 * (tx.l0 * r1[tx.i0] + tx.l1 * r1[tx.i1])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Legacy nearest source indices: `min(⌊Float(dst) · (Float(in) / Float(out))⌋, in − 1)`.
    static func nearestIndices(input: Int, output: Int) -> [Int] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { Swift.min(Int((Float($0) * scale).rounded(.down)), input - 1) }
    }

    struct BilinearTap { var i0: Int; var i1: Int; var l0: Float; var l1: Float }

    /// Bilinear source taps: align_corners false `src = max(in/out · (dst + 0.5) − 0.5, 0)`, true
    /// `src = (in − 1)/(out − 1) · dst`; `i1 = min(i0 + 1, in − 1)`; all in Float like torch.
    static func bilinearTaps(input: Int, output: Int, alignCorners: Bool) -> [BilinearTap] {
        let scale: Float = alignCorners
            ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0)
            : Float(input) / Float(output)
        return (0..<output).map { dst in
            let src: Float = alignCorners ? scale * Float(dst) : Swift.max(scale * (Float(dst) + 0.5) - 0.5, 0)
            let i0 = Swift.min(Int(src), input - 1)
            let i1 = Swift.min(i0 + 1, input - 1)
            let l1 = src - Float(i0)
            return BilinearTap(i0: i0, i1: i1, l0: 1 - l1, l1: l1)
        }
    }
}

extension Tensor {
    /// torch `F.grid_sample(input, grid, mode='bilinear', padding_mode='zeros', align_corners=False)`:
    /// input (N, C, H, W), grid (N, Ho, Wo, 2) of normalised (x, y) in [−1, 1] → (N, C, Ho, Wo).
    /// Pixel coordinates are `((g + 1) / 2) · size − 0.5`; corners outside the map contribute zero.
    public func gridSampleBilinear(grid: Tensor) -> Tensor {
        precondition(rank == 4 && grid.rank == 4 && grid.shape[0] == shape[0] && grid.shape[3] == 2,
                     "gridSampleBilinear: input \(shape) and grid \(grid.shape) must be (N, C, H, W) and (N, Ho, Wo, 2)")
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3], ho = grid.shape[1], wo = grid.shape[2]
        let x = contiguous(), g = grid.contiguous()
        return Tensor(shape: [n, c, ho, wo]) { out in
            guard let o = out.baseAddress, n * c * ho * wo > 0 else { return }
            let xp = UncheckedSendable(UnsafePointer(x.storage.base + x.offset))
            let gp = UncheckedSendable(UnsafePointer(g.storage.base + g.offset))
            let op = UncheckedSendable(o)
            withExtendedLifetime((x, g)) {
                Parallel.forEach(n * ho, minChunk: Swift.max(1, 2048 / Swift.max(wo * c, 1))) { range in
                    for row in range {
                        let b = row / ho, oy = row % ho
                        for ox in 0..<wo {
                            let gi = ((b * ho + oy) * wo + ox) * 2
                            let ix = ((gp.value[gi] + 1) / 2) * Float(w) - 0.5
                            let iy = ((gp.value[gi + 1] + 1) / 2) * Float(h) - 0.5
                            let dst = op.value + b * c * ho * wo + oy * wo + ox
                            // Entirely outside (or NaN): every corner is padding.
                            guard ix > -1, iy > -1, ix < Float(w), iy < Float(h) else {
                                for ch in 0..<c { dst[ch * ho * wo] = 0 }
                                continue
                            }
                            let x0f = ix.rounded(.down), y0f = iy.rounded(.down)
                            let x0 = Int(x0f), y0 = Int(y0f)
                            let fx = ix - x0f, fy = iy - y0f
                            let inX0 = x0 >= 0, inX1 = x0 + 1 < w, inY0 = y0 >= 0, inY1 = y0 + 1 < h
                            let w00: Float = inY0 && inX0 ? (1 - fx) * (1 - fy) : 0, w01: Float = inY0 && inX1 ? fx * (1 - fy) : 0
                            let w10: Float = inY1 && inX0 ? (1 - fx) * fy : 0, w11: Float = inY1 && inX1 ? fx * fy : 0
                            // Clamped indices: a zero weight makes the clamped tap harmless.
                            let xa = Swift.max(x0, 0), xb = Swift.min(x0 + 1, w - 1), ya = Swift.max(y0, 0), yb = Swift.min(y0 + 1, h - 1)
                            for ch in 0..<c {
                                let plane = xp.value + (b * c + ch) * h * w
                                dst[ch * ho * wo] = w00 * plane[ya * w + xa] + w01 * plane[ya * w + xb]
                                    + w10 * plane[yb * w + xa] + w11 * plane[yb * w + xb]
                            }
                        }
                    }
                }
            }
        }
    }
}
