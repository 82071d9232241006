// ReferFormer models/swin_transformer.py (2-D) and models/video_swin_transformer.py (3-D): the window
// machinery shared by both — pad, `torch.roll`, `window_partition` / `window_reverse`, the shifted-window
// mask of `BasicLayer.forward` / `compute_mask`, and the relative position index.
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

/// Tokens (D·H·W, C) as a (D, C, H, W) map: the golden `(T, C, h, w)` and the backbone outputs.
func tokenMap(_ x: Tensor, dims: [Int]) -> Tensor {
    x.reshaped([dims[0], dims[1], dims[2], x.shape[1]]).channelsFirst()
}
