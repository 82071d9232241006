// The parts that ReferFormer models/swin_transformer.py (2-D) and models/video_swin_transformer.py
// (3-D) share: window plans (pad, roll, window_partition / window_reverse, and the shifted-window
// mask of `BasicLayer.forward` / `compute_mask`), the relative position index, `SwinTransformerBlock`
// (`SwinTransformerBlock3D`), `PatchMerging` and the patch embedding.
//
// Token maps are (rows, C) matrices, rows in (d, h, w) order: for the 2-D Swin d is the frame (each
// frame is its own batch element, windows never span frames), for Video-Swin d is time in the clip.
import Tensor

/// How one block partitions a (D, H, W) token map into windows: which token (or zero padding) sits
/// at each position of each window after the roll, where each token's output is, and the mask.
struct WindowPlan: Sendable {
    /// Unpadded map (D, H, W).
    let dims: [Int]
    /// Effective window (d, h, w) and shift.
    let window: [Int]
    let shift: [Int]
    /// Map padded right/bottom/end to multiples of the window.
    let padded: [Int]
    /// Windows (d, then h, then w over the window grid) and tokens per window.
    let windowCount: Int
    let tokens: Int
    /// For each windowed position (window-major, row-major inside a window): the source row, or −1
    /// for padding (`F.pad`, then `torch.roll(-shift)`, then `window_partition`).
    let gather: [Int32]
    /// For each source row: its windowed position (`window_reverse`, `torch.roll(+shift)`, crop).
    let inverse: [Int32]
    /// (M, N, N) with 0 / −100 (`attn_mask`), window b using `mask[b % M]`; nil without a shift.
    let mask: Tensor?

    init(dims: [Int], window: [Int], shift: [Int]) {
        precondition(dims.count == 3 && window.count == 3 && shift.count == 3)
        self.dims = dims
        self.window = window
        self.shift = shift
        let padded = (0..<3).map { (dims[$0] + window[$0] - 1) / window[$0] * window[$0] }
        self.padded = padded
        let grid = (0..<3).map { padded[$0] / window[$0] }
        windowCount = grid.reduce(1, *)
        tokens = window.reduce(1, *)
        var gather = [Int32](repeating: -1, count: windowCount * tokens)
        var inverse = [Int32](repeating: -1, count: dims.reduce(1, *))
        var position = 0
        // Window (gd, gh, gw), token (a, b, c): shifted-map position p = g·window + (a, b, c); the roll by
        // −shift puts source position (p + shift) mod padded there.
        for gd in 0..<grid[0] { for gh in 0..<grid[1] { for gw in 0..<grid[2] {
            for a in 0..<window[0] { for b in 0..<window[1] { for c in 0..<window[2] {
                let sd = (gd * window[0] + a + shift[0]) % padded[0]
                let sh = (gh * window[1] + b + shift[1]) % padded[1]
                let sw = (gw * window[2] + c + shift[2]) % padded[2]
                if sd < dims[0] && sh < dims[1] && sw < dims[2] {
                    let row = (sd * dims[1] + sh) * dims[2] + sw
                    gather[position] = Int32(row)
                    inverse[row] = Int32(position)
                }
                position += 1
            }}}
        }}}
        self.gather = gather
        self.inverse = inverse
        mask = shift.contains(where: { $0 > 0 }) ? WindowPlan.shiftMask(padded: padded, window: window, shift: shift, grid: grid) : nil
    }

    /// The official mask: label the padded map by regions `slice(None, −W)`, `slice(−W, −s)`,
    /// `slice(−s, None)` per dimension (Python slice semantics: with s = 0 the middle slice is empty
    /// and the last covers everything), a counter over the nested (d, h, w) loops, later regions
    /// overwriting earlier ones; partition the labels like the tokens; −100 where two labels differ.
    static func shiftMask(padded: [Int], window: [Int], shift: [Int], grid: [Int]) -> Tensor {
        func regions(_ p: Int, _ w: Int, _ s: Int) -> [Range<Int>] {
            let lastStart = s == 0 ? 0 : p - s
            return [0..<Swift.max(0, p - w), (p - w)..<Swift.max(p - w, s == 0 ? 0 : p - s), lastStart..<p]
        }
        var labels = [Int](repeating: 0, count: padded.reduce(1, *))
        var counter = 0
        for rd in regions(padded[0], window[0], shift[0]) {
            for rh in regions(padded[1], window[1], shift[1]) {
                for rw in regions(padded[2], window[2], shift[2]) {
                    for d in rd { for h in rh { for w in rw { labels[(d * padded[1] + h) * padded[2] + w] = counter } } }
                    counter += 1
                }
            }
        }
        // With no temporal shift the labels do not depend on d: one d-slab of windows suffices (window b
        // then uses mask[b % slab], as the 2-D Swin's per-image mask does).
        let slabs = shift[0] == 0 ? 1 : grid[0]
        let count = slabs * grid[1] * grid[2]
        let n = window.reduce(1, *)
        return Tensor(shape: [count, n, n]) { out in
            var windowLabels = [Int](repeating: 0, count: n)
            var index = 0
            for gd in 0..<slabs { for gh in 0..<grid[1] { for gw in 0..<grid[2] {
                var t = 0
                for a in 0..<window[0] { for b in 0..<window[1] { for c in 0..<window[2] {
                    windowLabels[t] = labels[((gd * window[0] + a) * padded[1] + gh * window[1] + b) * padded[2] + gw * window[2] + c]
                    t += 1
                }}}
                let base = index * n * n
                for i in 0..<n { for j in 0..<n { out[base + i * n + j] = windowLabels[i] == windowLabels[j] ? 0 : -100 } }
                index += 1
            }}}
        }
    }
}

/// The official `relative_position_index` of a (Wd, Wh, Ww) window (Swin: Wd = 1), row-major N×N:
/// `(di−dj+Wd−1)·(2Wh−1)(2Ww−1) + (hi−hj+Wh−1)·(2Ww−1) + (wi−wj+Ww−1)`, tokens in (d, h, w) order.
func relativePositionIndex(window: [Int]) -> [Int32] {
    let (wd, wh, ww) = (window[0], window[1], window[2])
    let n = wd * wh * ww
    var coords: [(Int, Int, Int)] = []
    for d in 0..<wd { for h in 0..<wh { for w in 0..<ww { coords.append((d, h, w)) } } }
    var index = [Int32](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n {
            let (di, hi, wi) = coords[i], (dj, hj, wj) = coords[j]
            index[i * n + j] = Int32((di - dj + wd - 1) * (2 * wh - 1) * (2 * ww - 1) + (hi - hj + wh - 1) * (2 * ww - 1) + (wi - wj + ww - 1))
        }
    }
    return index
}

/// `SwinTransformerBlock` / `SwinTransformerBlock3D` (eval): `x + proj(W-MSA(norm1(x)))`, then
/// `x + fc2(gelu(fc1(norm2(x))))`.
///
/// Keys under `<prefix>`: `norm1`, `attn.relative_position_bias_table` (R, heads),
/// `attn.relative_position_index` (N, N) (a buffer: checked against the formula, may be absent),
/// `attn.qkv`, `attn.proj`, `norm2`, `mlp.fc1`, `mlp.fc2`.
struct SwinBlock: Sendable {
    var norm1: LayerNorm
    var qkv: Linear
    var proj: Linear
    var norm2: LayerNorm
    var fc1: Linear
    var fc2: Linear
    /// (R, heads)
    var table: Tensor
    /// The configured window's index, N0 × N0.
    var index: [Int32]
    var configuredTokens: Int
    var heads: Int

    init(weights: StateDict, prefix: String, dim: Int, heads: Int, window: [Int], mlpHidden: Int) throws(ReferFormerError) {
        norm1 = LayerNorm(weights: weights, prefix: "\(prefix).norm1", dimension: dim)
        let rows = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        table = weights.take("\(prefix).attn.relative_position_bias_table", shape: [rows, heads])
        let n = window.reduce(1, *)
        let index = relativePositionIndex(window: window)
        self.index = index
        let key = "\(prefix).attn.relative_position_index"
        if weights.shape(of: key) == [n, n] {
            let stored = weights.take(key, shape: [n, n]).scalars
            if let bad = stored.indices.first(where: { Int32(exactly: stored[$0]) != index[$0] }) {
                throw ReferFormerError(.weights, "\(key)[\(bad / n), \(bad % n)] is \(stored[bad]), but the official formula for a window \(window) gives \(index[bad]): "
                    + "the checkpoint's window size does not match its bias tables, or the buffer is corrupt")
            }
        } else if weights.contains(key) {
            _ = weights.take(key, shape: [n, n])  // recorded as a shape mismatch
        }
        configuredTokens = n
        qkv = Linear(weights: weights, prefix: "\(prefix).attn.qkv", inFeatures: dim, outFeatures: 3 * dim)
        proj = Linear(weights: weights, prefix: "\(prefix).attn.proj", inFeatures: dim, outFeatures: dim)
        norm2 = LayerNorm(weights: weights, prefix: "\(prefix).norm2", dimension: dim)
        fc1 = Linear(weights: weights, prefix: "\(prefix).mlp.fc1", inFeatures: dim, outFeatures: mlpHidden)
        fc2 = Linear(weights: weights, prefix: "\(prefix).mlp.fc2", inFeatures: mlpHidden, outFeatures: dim)
        self.heads = heads
    }

    /// The (heads, N, N) bias of a window of N tokens: `table[index[:N, :N]]`, permuted. N smaller than
    /// the configured window happens only in Video-Swin, which takes the first N tokens' index as is.
    func relativeBias(tokens n: Int) -> Tensor {
        let n0 = configuredTokens, h = heads
        let t = table.contiguous()
        return t.withUnsafeBufferPointer { tp in
            Tensor(shape: [h, n, n]) { out in
                for i in 0..<n {
                    for j in 0..<n {
                        let row = Int(index[i * n0 + j]) * h
                        for m in 0..<h { out[(m * n + i) * n + j] = tp[row + m] }
                    }
                }
            }
        }
    }

    /// - Parameters: x (rows, C) in the plan's (d, h, w) order; `bias` from `relativeBias(tokens:)`.
    func callAsFunction(_ x: Tensor, plan: WindowPlan, bias: Tensor) -> Tensor {
        let c = x.shape[1]
        let windows = norm1(x).gatheringRowsOrZeros(plan.gather)
        let projected = qkv(windows).reshaped([plan.windowCount, plan.tokens, 3 * c])
        let attended = windowAttention(qkv: projected, heads: heads, bias: bias, mask: plan.mask,
                                       scale: Float(1 / Double(c / heads).squareRoot()))
        var y = x
        y.addRows(of: proj(attended.reshaped([-1, c])), at: plan.inverse)
        let hidden = fc1(norm2(y)).gelu()
        return fc2(hidden, residual: y)
    }
}

/// `PatchMerging`: pad odd h/w at the bottom/right, concatenate `[x(2i,2j), x(2i+1,2j), x(2i,2j+1),
/// x(2i+1,2j+1)]` (4C), LayerNorm(4C), Linear(4C → 2C, no bias). Keys `<prefix>.norm`, `<prefix>.reduction`.
struct PatchMerging: Sendable {
    var norm: LayerNorm
    var reduction: Linear

    init(weights: StateDict, prefix: String, dim: Int) {
        norm = LayerNorm(weights: weights, prefix: "\(prefix).norm", dimension: 4 * dim)
        reduction = Linear(weights: weights, prefix: "\(prefix).reduction", inFeatures: 4 * dim, outFeatures: 2 * dim, bias: false)
    }

    /// x (D·H·W, C) → ((D·⌈H/2⌉·⌈W/2⌉), 2C) and the new dims.
    func callAsFunction(_ x: Tensor, dims: [Int]) -> (Tensor, [Int]) {
        let (d, h, w) = (dims[0], dims[1], dims[2])
        let (h2, w2) = ((h + 1) / 2, (w + 1) / 2)
        var indices = [Int32]()
        indices.reserveCapacity(d * h2 * w2 * 4)
        for t in 0..<d { for i in 0..<h2 { for j in 0..<w2 {
            for (dy, dx) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (y, xx) = (2 * i + dy, 2 * j + dx)
                indices.append(y < h && xx < w ? Int32((t * h + y) * w + xx) : -1)
            }
        }}}
        let c = x.shape[1]
        var merged = x.gatheringRowsOrZeros(indices).reshaped([-1, 4 * c])
        norm.apply(to: &merged)
        return (reduction(merged), [d, h2, w2])
    }
}

/// `PatchEmbed` / `PatchEmbed3D` with patch (1,) 4×4: zero-pad the normalised frames right/bottom to
/// multiples of 4, conv 4×4 stride 4, optional LayerNorm over C. Keys `<prefix>.proj.weight`
/// (C, 3, 4, 4) or (C, 3, 1, 4, 4), `<prefix>.proj.bias`, `<prefix>.norm.*`.
struct PatchEmbedding: Sendable {
    var proj: Conv2d
    var norm: LayerNorm?
    let patch: Int

    init(weights: StateDict, prefix: String, dim: Int, patch: Int, video: Bool, patchNorm: Bool) {
        let shape = video ? [dim, 3, 1, patch, patch] : [dim, 3, patch, patch]
        let weight = weights.take("\(prefix).proj.weight", shape: shape).reshaped([dim, 3, patch, patch])
        proj = Conv2d(weight: weight, bias: weights.take("\(prefix).proj.bias", shape: [dim]), stride: patch, padding: 0)
        norm = patchNorm ? LayerNorm(weights: weights, prefix: "\(prefix).norm", dimension: dim) : nil
        self.patch = patch
    }

    /// frames (T, 3, H, W) → tokens (T·h·w, C) and dims (T, ⌈H/4⌉, ⌈W/4⌉).
    func callAsFunction(_ frames: Tensor) -> (Tensor, [Int]) {
        let (t, h, w) = (frames.shape[0], frames.shape[2], frames.shape[3])
        let (hp, wp) = ((h + patch - 1) / patch * patch, (w + patch - 1) / patch * patch)
        var input = frames
        if hp != h || wp != w {
            let source = frames.contiguous()
            input = source.withUnsafeBufferPointer { src in
                Tensor(shape: [t, 3, hp, wp]) { dst in
                    dst.initialize(repeating: 0)
                    for plane in 0..<(t * 3) {
                        for y in 0..<h {
                            let from = src.baseAddress! + (plane * h + y) * w
                            (dst.baseAddress! + (plane * hp + y) * wp).update(from: from, count: w)
                        }
                    }
                }
            }
        }
        let embedded = proj(input)  // (T, C, h, w)
        let dims = [t, embedded.shape[2], embedded.shape[3]]
        var tokens = embedded.channelsLast().reshaped([-1, embedded.shape[1]])
        norm?.apply(to: &tokens)
        return (tokens, dims)
    }
}

/// Tokens (D·H·W, C) as a (D, C, H, W) map: the golden `(T, C, h, w)` and the backbone outputs.
func tokenMap(_ x: Tensor, dims: [Int]) -> Tensor {
    x.reshaped([dims[0], dims[1], dims[2], x.shape[1]]).channelsFirst()
}
