import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `segment`'s progress line on standard error (only when it is a terminal), redrawn in place.
///
/// It counts frames whose masks are written — every step of a frame (decoding, backbone, per-phrase
/// stages, pixel decoder, writing) is behind that count — and the ETA is the remaining frames at the
/// average rate so far, so it does not jump with the window rhythm. Before the first masks it shows the
/// step under way.
final class SegmentProgress {
    /// Total frames when known (a folder, --frames, or a video's duration × frame rate).
    var total: Int?
    let enabled = isatty(STDERR_FILENO) == 1
    private let start = ContinuousClock.now
    private var drawn = false

    init(total: Int?) { self.total = total }

    /// - Parameters:
    ///   - done: frames whose masks are written.
    ///   - decoded: frames read so far.
    ///   - step: what runs now.
    func show(done: Int, decoded: Int, step: String) {
        guard enabled else { return }
        let elapsed = (ContinuousClock.now - start).seconds
        var line = "\r\(done)"
        if let total, total > 0 {
            line += String(format: "/%d frames (%.0f %%)", total, 100 * Double(min(done, total)) / Double(total))
        } else {
            line += " frames"
        }
        if done > 0 {
            let rate = Double(done) / max(elapsed, 1e-9)
            line += String(format: "  %.2f frames/s", rate)
            if let total, total > done { line += String(format: "  ETA %.0f s", Double(total - done) / rate) }
        }
        line += "  (\(step); \(decoded) read)\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    /// Ends the line (before any other message).
    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
