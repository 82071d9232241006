import Foundation

/// The bounded drop-oldest queue between a live source's appsink callback and its consumer.
///
/// `push` never waits (it takes a lock held only for a few assignments), so a GStreamer streaming
/// thread is never blocked by a slow consumer: when the queue is full the oldest frame is dropped and
/// counted. Memory is bounded by `capacity` frames.
final class FrameQueue: @unchecked Sendable {
    // Safety: every stored property below is read and written only with `condition` locked.
    private let condition = NSCondition()
    private var frames: [VideoFrame] = []
    private var finished = false
    let capacity: Int
    private(set) var received = 0
    private(set) var dropped = 0
    private(set) var delivered = 0
    private(set) var highWater = 0

    enum Pop { case frame(VideoFrame), timedOut, finished }

    init(capacity: Int) {
        precondition(capacity >= 1, "queue capacity must be positive")
        self.capacity = capacity
        frames.reserveCapacity(capacity)
    }

    /// Adds a frame, dropping the oldest when full; never blocks. Frames pushed after `finish` are discarded.
    func push(_ frame: VideoFrame) {
        condition.lock()
        defer { condition.unlock() }
        guard !finished else { return }
        received += 1
        if frames.count == capacity {
            frames.removeFirst()
            dropped += 1
        }
        frames.append(frame)
        highWater = max(highWater, frames.count)
        condition.signal()
    }

    /// Takes the oldest frame, waiting up to `timeout`; queued frames are still delivered after `finish`.
    func pop(timeout: Duration) -> Pop {
        let deadline = Date(timeIntervalSinceNow: Self.seconds(timeout))
        condition.lock()
        defer { condition.unlock() }
        while frames.isEmpty {
            if finished { return .finished }
            if !condition.wait(until: deadline) {
                if frames.isEmpty { return finished ? .finished : .timedOut }
            }
        }
        delivered += 1
        return .frame(frames.removeFirst())
    }

    /// No more frames will come; wakes waiting consumers.
    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    struct Counts { var received, dropped, delivered, queued, highWater: Int }
    var counts: Counts {
        condition.lock()
        defer { condition.unlock() }
        return Counts(received: received, dropped: dropped, delivered: delivered, queued: frames.count, highWater: highWater)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
