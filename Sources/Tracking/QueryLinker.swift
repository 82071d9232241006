#if canImport(Glibc)
import Glibc
#endif
import ReferFormer
import Tensor

/// A box (cx, cy, w, h) in [0, 1] of the frame.
struct NormalizedBox: Equatable {
    var cx: Float, cy: Float, w: Float, h: Float

    func iou(_ o: NormalizedBox) -> Float {
        let ix = max(0, min(cx + w / 2, o.cx + o.w / 2) - max(cx - w / 2, o.cx - o.w / 2))
        let iy = max(0, min(cy + h / 2, o.cy + o.h / 2) - max(cy - h / 2, o.cy - o.h / 2))
        let inter = ix * iy
        let union = w * h + o.w * o.h - inter
        return union > 0 ? inter / union : 0
    }

    func centreDistance(_ o: NormalizedBox) -> Float { ((cx - o.cx) * (cx - o.cx) + (cy - o.cy) * (cy - o.cy)).squareRoot() }
}

/// What a phrase's track remembers between windows (bounded: masks of the frames the next window
/// shares, at the model's mask grid).
struct LinkState {
    var trackID: Int?
    var query: Int?
    /// The chosen query's box on the newest frame of the last window.
    var lastBox: NormalizedBox?
    /// The box centre's motion per frame over the last two emitted frames (cx, cy).
    var velocity: (dx: Float, dy: Float) = (0, 0)
    /// The chosen query's mask (logit > 0) on each frame the next window shares, by frame sequence.
    var sharedMasks: [Int: [UInt8]] = [:]
    /// Consecutive emitted frames whose score was under the presence threshold.
    var lowFrames = 0
    /// True once `lowFrames` reached `absentAfterFrames` (at the end of a window).
    var absent = false

    mutating func observe(score: Float, threshold: Float) {
        lowFrames = score < threshold ? lowFrames + 1 : 0
    }
}

/// One phrase's outputs on one window, with the views linking needs.
struct WindowOutputs {
    let queries: [FrameQueries]
    let sequences: [Int]
    let frameCount: Int, queryCount: Int, gridHeight: Int, gridWidth: Int
    private let logits: [Float]  // (T, Q, h, w)
    private let boxes: [[Float]]  // per frame (Q·4)
    private let classLogits: [[Float]]  // per frame (Q·K)
    private let classCount: Int
    /// The official window scores (`max_k mean_t sigmoid`) and their argmax (first on ties).
    let scores: [Float]
    let best: Int

    init(queries: [FrameQueries], maskLogits: Tensor, sequences: [Int]) {
        precondition(maskLogits.rank == 4 && maskLogits.shape[0] == queries.count && queries.count == sequences.count,
                     "mask logits \(maskLogits.shape) for \(queries.count) frames")
        self.queries = queries
        self.sequences = sequences
        (frameCount, queryCount, gridHeight, gridWidth) = (maskLogits.shape[0], maskLogits.shape[1], maskLogits.shape[2], maskLogits.shape[3])
        logits = maskLogits.scalars
        boxes = queries.map(\.boxes.scalars)
        classLogits = queries.map(\.logits.scalars)
        classCount = queries[0].logits.shape[1]
        (scores, best) = MaskPostProcessing.selectQuery(predLogits: Tensor.stack(queries.map(\.logits), axis: 0))
    }

    /// max over classes of sigmoid(logit) of query `q` on frame `t`.
    func frameScore(_ t: Int, query q: Int) -> Float {
        var best = -Float.infinity
        for k in 0..<classCount { best = max(best, 1 / (1 + expf(-classLogits[t][q * classCount + k]))) }
        return best
    }

    func box(_ t: Int, query q: Int) -> NormalizedBox {
        let b = boxes[t]
        return NormalizedBox(cx: b[4 * q], cy: b[4 * q + 1], w: b[4 * q + 2], h: b[4 * q + 3])
    }

    /// Query `q`'s mask on frame `t` at the grid, logit > 0 (= sigmoid > 0.5).
    func binaryMask(_ t: Int, query q: Int) -> [UInt8] {
        let n = gridHeight * gridWidth, base = (t * queryCount + q) * n
        return (0..<n).map { logits[base + $0] > 0 ? 1 : 0 }
    }

    /// IoU of `mask` with query `q`'s mask on frame `t` (0 when both are empty).
    func maskIoU(_ mask: [UInt8], frame t: Int, query q: Int) -> Float {
        let n = gridHeight * gridWidth, base = (t * queryCount + q) * n
        var inter = 0, union = 0
        for i in 0..<n {
            let a = mask[i] != 0, b = logits[base + i] > 0
            if a && b { inter += 1 }
            if a || b { union += 1 }
        }
        return union > 0 ? Float(inter) / Float(union) : 0
    }
}

/// The choice of one phrase's query on a window.
///
/// - No track yet, or the track is absent: the official choice, the best window score (first on ties).
/// - Otherwise the query that continues the track is found: the best mean mask IoU with the track's
///   masks on the frames both windows share, or — without shared frames — the best box IoU (then the
///   nearest centre) between the track's last box and each query's box on the window's first new
///   frame. It continues the track when that overlap is at least `minimumOverlap` (or, for boxes, the
///   centre moved less than the box's larger side).
/// - A continuing query is kept unless another query's window score beats it by more than
///   `switchMargin` (hysteresis); switching to a query that does not overlap the track starts a new
///   track id.
/// - When no query continues the track (the object left or is hidden): if the best query's window
///   score reaches the presence threshold a different object is there and it starts a new track id;
///   otherwise the track stays on its query, keeps its id and goes absent as its score stays low. An absent track keeps its query until one scores as present again: that one re-acquires
///   the object under the same id (the engine cannot tell a returning object from another one).
/// - Box comparisons use the track's last box moved on at its last velocity, so two similar objects
///   crossing between windows that share no frame are told apart by their motion.
struct QueryLinker {
    let configuration: TrackingConfiguration

    func choose(window: WindowOutputs, state: LinkState) -> (query: Int, newTrack: Bool) {
        let best = window.best
        guard let previous = state.query, state.trackID != nil else { return (best, true) }
        if state.absent {
            // Re-acquired when a query scores as present again; until then the track stays where it was.
            return (window.scores[best] >= configuration.presenceThreshold || previous >= window.queryCount ? best : previous, false)
        }
        let scores = window.scores
        let q = window.queryCount
        var affinity = [Float](repeating: 0, count: q)
        var distance = [Float](repeating: 0, count: q)

        let shared = window.sequences.indices.filter { state.sharedMasks[window.sequences[$0]]?.contains(1) == true }
        let byMask = !shared.isEmpty
        if byMask {
            for query in 0..<q {
                affinity[query] = shared.reduce(0) { sum, t in
                    sum + window.maskIoU(state.sharedMasks[window.sequences[t]]!, frame: t, query: query)  // filtered above
                } / Float(shared.count)
            }
        } else if var predicted = state.lastBox {
            // The track's box moved on at its last velocity, against each query's box on the first frame
            // this window has that the last one did not (the frame right after the track's last box).
            predicted.cx += state.velocity.dx
            predicted.cy += state.velocity.dy
            let t = min(window.sequences.indices.filter { state.sharedMasks[window.sequences[$0]] != nil }.count, window.frameCount - 1)
            for query in 0..<q {
                let box = window.box(t, query: query)
                affinity[query] = predicted.iou(box)
                distance[query] = predicted.centreDistance(box)
            }
        } else {
            return (best, false)
        }
        // The follower: most overlap, then nearest centre, then higher score, then lower index.
        var follower = 0
        for query in 1..<q {
            let a = (affinity[query], -distance[query], scores[query]), b = (affinity[follower], -distance[follower], scores[follower])
            if a > b { follower = query }
        }
        let continuing = affinity[follower] >= configuration.minimumOverlap
            || (!byMask && state.lastBox.map { distance[follower] <= max($0.w, $0.h) } == true)
        if continuing {
            if scores[best] > scores[follower] + configuration.switchMargin {
                return (best, affinity[best] < configuration.minimumOverlap)
            }
            return (follower, false)
        }
        // Nothing continues the track: a present object elsewhere starts a new track; otherwise the
        // track stays on its query (no evidence to move) and goes absent as its score stays low.
        if scores[best] >= configuration.presenceThreshold || previous >= q { return (best, true) }
        return (previous, false)
    }
}
