import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `segment`'s progress line on standard error (only when it is a terminal), redrawn in place.
///
/// Every step reports itself (`SegmentProgressModel` wraps the network's stages; the command reports
/// the frames it reads and the masks it writes), and while a step runs the line is redrawn twice a
/// second, so it never stands still during a long step.
///
/// Windows (the default): the count is frames whose masks are written — every step of a frame is
/// behind it — and the ETA is the remaining frames at the average rate since the first frame, which
/// does not jump with the window rhythm.
///
/// Whole video (one clip): masks come only at the end, after the backbone on every frame, then per
/// phrase the per-frame stages (encoder + decoder, frame by frame) and the pixel decoder + mask head
/// on all frames, then writing. The percentage is the share of that work done, in seconds: each stage's
/// cost per frame is what it measured so far, and before a stage first runs, the backbone's cost per
/// frame times the stage's ratio measured on the R50 model at 360×640 (release, 8 frames: encoder +
/// decoder 1.6×, pixel decoder + mask head 2.3× the backbone per frame). Inside a running step the
/// work done grows with its elapsed time up to its estimate, so the ETA counts down smoothly; it is
/// corrected once when a stage that had only the estimate finishes. The percentage shown never goes back, and reads
/// 100 only once the last frame is written.
// Safety: the mutable state is behind `state`'s mutex; `timer` is set once in `init`, and a dispatch
// source may be cancelled from any thread.
final class SegmentProgress: @unchecked Sendable {
    /// What the line reports: the network's stages and writing the masks.
    enum Stage: Int, CaseIterable, Sendable {
        case backbone, detection, window, writing

        /// Cost per frame relative to the backbone, until the stage has run once (R50 at 360×640).
        var prior: Double {
            switch self {
            case .backbone: 1
            case .detection: 1.6
            case .window: 2.3
            case .writing: 0.02
            }
        }
    }

    private struct Step {
        var stage: Stage
        var frames: Int
        var label: String
        var start: ContinuousClock.Instant
    }

    private struct State {
        var total: Int?
        var phrases = 1
        var wholeVideo = false
        var start: ContinuousClock.Instant?
        var decoded = 0
        var written = 0
        /// Per stage: seconds and frames of the finished steps.
        var seconds = [Double](repeating: 0, count: Stage.allCases.count)
        var frames = [Int](repeating: 0, count: Stage.allCases.count)
        var current: Step?
        /// Pixel-decoder calls so far: the tracker runs the phrases in order, so this names the phrase.
        var windowCalls = 0
        var shownPercent = 0.0
        var drawn = false
    }

    let enabled: Bool
    private let state = Mutex(State())
    private let timer: DispatchSourceTimer?

    init(enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.enabled = enabled
        timer = enabled ? DispatchSource.makeTimerSource(queue: DispatchQueue(label: "referstream.progress")) : nil
        timer?.setEventHandler { [weak self] in self?.redraw(onlyWhileRunning: true) }
        timer?.schedule(deadline: .now() + .milliseconds(500), repeating: .milliseconds(500))
        timer?.activate()
    }

    deinit { timer?.cancel() }

    /// Called once the model is loaded and the first frame read: the clock of the rates starts here.
    /// - Parameters:
    ///   - total: frames the run will write, when known (a folder, --frames, or duration × frame rate).
    ///   - phrases: phrases per frame.
    ///   - wholeVideo: one clip (`--whole-video`): progress counts work, not written frames.
    func begin(total: Int?, phrases: Int, wholeVideo: Bool) {
        state.withLock {
            $0.total = total
            $0.phrases = max(1, phrases)
            $0.wholeVideo = wholeVideo
            $0.start = .now
        }
    }

    /// A better frame count (a video's duration became known).
    func setTotal(_ total: Int?) { state.withLock { $0.total = total } }

    /// Frames read and frames written so far.
    func update(decoded: Int, written: Int) {
        state.withLock {
            $0.decoded = decoded
            $0.written = written
        }
        redraw(onlyWhileRunning: false)
    }

    /// A step starts: `frames` frames through `stage`.
    /// - Parameter item: for steps that go frame by frame, the frame's position in its batch (1-based)
    ///   and the batch size.
    func stepStarted(_ stage: Stage, frames: Int, item: (Int, Int)? = nil) {
        state.withLock { s in
            let phrase = s.windowCalls % s.phrases + 1
            let label: String
            switch stage {
            case .backbone: label = frames == 1 ? "backbone" : "backbone on \(frames) frames"
            case .detection: label = "p\(phrase) encoder + decoder" + (item.map { ", frame \($0.0)/\($0.1)" } ?? " on \(frames) frames")
            case .window: label = "p\(phrase) pixel decoder + mask head on \(frames) frame\(frames == 1 ? "" : "s")"
            case .writing: label = "writing masks" + (item.map { ", frame \($0.0)/\($0.1)" } ?? "")
            }
            s.current = Step(stage: stage, frames: frames, label: label, start: .now)
        }
        redraw(onlyWhileRunning: false)
    }

    /// The step under way finished.
    func stepFinished() {
        state.withLock { s in
            guard let step = s.current else { return }
            s.seconds[step.stage.rawValue] += (ContinuousClock.now - step.start).seconds
            s.frames[step.stage.rawValue] += step.frames
            if step.stage == .window { s.windowCalls += 1 }
            s.current = nil
        }
    }

    /// Ends the line (before any other message) and stops redrawing.
    func finish() {
        timer?.cancel()
        state.withLock { s in
            if s.drawn { FileHandle.standardError.write(Data("\n".utf8)) }
            s.drawn = false
        }
    }

    private func redraw(onlyWhileRunning: Bool) {
        guard enabled else { return }
        state.withLock { s in
            guard !onlyWhileRunning || s.current != nil, s.start != nil else { return }
            let line = "\r" + Self.render(&s) + "\u{1B}[K"
            FileHandle.standardError.write(Data(line.utf8))
            s.drawn = true
        }
    }

    /// The line's text (without the carriage return): progress, rate or ETA, and the step under way.
    private static func render(_ s: inout State) -> String {
        let now = ContinuousClock.now
        var line = ""
        if s.wholeVideo, let total = s.total, total > 0, let work = workSeconds(s, total: total, now: now) {
            // Never back; 100 % only once the last frame is written, whatever the estimate says.
            let estimate = 100 * work.done / max(work.done + work.remaining, 1e-9)
            s.shownPercent = s.written < total ? min(max(s.shownPercent, estimate), 99) : 100
            line = String(format: "%d/%d frames written (%.0f %% of the work)", s.written, total, s.shownPercent)
            if s.written < total { line += String(format: "  ETA %.0f s", work.remaining) }
        } else {
            let elapsed = s.start.map { (now - $0).seconds } ?? 0
            line = "\(s.written)"
            if let total = s.total, total > 0 {
                line += String(format: "/%d frames (%.0f %%)", total, 100 * Double(min(s.written, total)) / Double(total))
            } else {
                line += " frames"
            }
            if s.written > 0 {
                let rate = Double(s.written) / max(elapsed, 1e-9)
                line += String(format: "  %.2f frames/s", rate)
                if let total = s.total, total > s.written { line += String(format: "  ETA %.0f s", Double(total - s.written) / rate) }
            }
        }
        let step = s.current.map { $0.label + String(format: ", %.0f s", (now - $0.start).seconds) } ?? "reading"
        return line + "  (\(step); \(s.decoded) read)"
    }

    /// Whole video: seconds of work done and still to do; nil before the backbone's cost is known.
    private static func workSeconds(_ s: State, total: Int, now: ContinuousClock.Instant) -> (done: Double, remaining: Double)? {
        let b = Stage.backbone.rawValue
        guard s.frames[b] > 0 else { return nil }
        let backboneRate = s.seconds[b] / Double(s.frames[b])
        func rate(_ stage: Stage) -> Double {
            let i = stage.rawValue
            return s.frames[i] > 0 ? s.seconds[i] / Double(s.frames[i]) : backboneRate * stage.prior
        }
        var done = s.seconds.reduce(0, +)
        var remaining = 0.0
        for stage in Stage.allCases {
            let planned = stage == .backbone || stage == .writing ? total : total * s.phrases
            let running = s.current.map { $0.stage == stage ? $0.frames : 0 } ?? 0
            remaining += Double(max(planned - s.frames[stage.rawValue] - running, 0)) * rate(stage)
        }
        if let step = s.current {
            let elapsed = (now - step.start).seconds
            done += elapsed
            remaining += max(Double(step.frames) * rate(step.stage) - elapsed, 0)
        }
        return (done, remaining)
    }
}

