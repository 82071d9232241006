import CGStreamer
import CGStreamerShims
import Foundation

/// A video input (file, RTSP stream, camera, test pattern or custom pipeline) delivering RGB frames.
///
/// `start()` builds the pipeline from the configuration's template and starts a supervisor thread
/// that watches the pipeline's bus (`gst_bus_timed_pop_filtered`, no polling) for errors, warnings and
/// end-of-stream and, for live inputs, detects stalls and reconnects with capped exponential backoff.
///
/// Frames are taken with `next(timeout:)` on a dedicated consumer thread (it blocks):
/// - live inputs (RTSP, camera, live test pattern, realtime file, live custom): the appsink's
///   `new_sample` callback copies each frame into a bounded drop-oldest queue without ever blocking the
///   streaming thread; drops are counted in `statistics`, each frame knows its `age`;
/// - other inputs (files, non-live test patterns): `next` pulls from the appsink, whose small queue
///   makes GStreamer block the decoder when the consumer is behind (backpressure, nothing dropped).
///
/// State changes are delivered as `SourceEvent`s to the `onEvent` handler (called on the supervisor
/// thread; it must not block for long) and to `events`. Each source owns its pipeline and threads, so
/// any number run side by side and one that fails never affects another. `stop()` (also run on deinit)
/// sets the pipeline to NULL and releases it.
///
/// Thread-safety: all methods may be called from any thread; `next` is meant for one consumer.
public final class VideoSource: @unchecked Sendable {
    // Safety: all stored properties are immutable; `core` is thread-safe (see SourceCore) and
    // `events` is an AsyncStream (Sendable).
    public let configuration: SourceConfiguration
    /// State changes, in order (buffers the newest 256 undelivered events). Meant for one consumer.
    public let events: AsyncStream<SourceEvent>
    let core: SourceCore

    /// Prepares a source: fills and checks the template (nothing is started).
    /// - Parameters:
    ///   - name: the source's name for the caller's logs and metrics (e.g. the stream's name in the
    ///     daemon configuration); available as `name`.
    ///   - onEvent: called on the source's supervisor thread for every event.
    /// - Throws: `.configuration` / `.template` when the configuration does not give a pipeline.
    public init(
        _ configuration: SourceConfiguration, name: String = "",
        onEvent: (@Sendable (SourceEvent) -> Void)? = nil
    ) throws(IngestError) {
        GStreamer.initialize()
        let description = try configuration.pipelineDescription()
        let (stream, continuation) = AsyncStream.makeStream(of: SourceEvent.self, bufferingPolicy: .bufferingNewest(256))
        self.configuration = configuration
        self.events = stream
        self.core = SourceCore(
            configuration: configuration, description: description, name: name,
            handler: onEvent, continuation: continuation)
    }

    deinit { stop() }

    /// The name given at creation.
    public var name: String { core.name }

    /// The `gst-launch-1.0` description this source runs.
    public var pipelineDescription: String { core.description }

    /// Builds the first pipeline and starts the supervisor thread.
    /// - Throws: `.pipelineParse` when the description does not parse (not retried: it never will),
    ///   `.missingElement` for a template without `{output}`. Errors that come from the input itself
    ///   (missing file or device, unreachable server, corrupt data) arrive as events and from `next`.
    public func start() throws(IngestError) {
        try core.start()
    }

    /// Stops the source: the pipeline goes to NULL and is released, the supervisor thread ends, a
    /// consumer waiting in `next` returns `.endOfStream`. Idempotent; waits for the supervisor to finish.
    public func stop() {
        core.stop()
    }

    /// The result of `next(timeout:)`.
    public enum Next: Sendable {
        case frame(VideoFrame)
        /// No frame within the timeout; the source is still running (or reconnecting).
        case timedOut
        /// The input ended (or the source was stopped); no more frames will come.
        case endOfStream
    }

    /// The next frame, waiting up to `timeout`. Blocks: call it from a dedicated thread.
    /// - Throws: the source's terminal error (the one in `.failed`) once its queued frames are consumed.
    public func next(timeout: Duration) throws(IngestError) -> Next {
        try core.next(timeout: timeout)
    }

    /// The last event emitted (nil before `start`): the source's current state.
    public var state: SourceEvent? { core.lastEvent }

    /// Frame counters.
    public struct Statistics: Sendable, Equatable {
        /// Frames that came out of GStreamer.
        public var received: Int
        /// Frames returned by `next`.
        public var delivered: Int
        /// Frames dropped by the live queue because the consumer was behind.
        public var dropped: Int
        /// Frames waiting in the live queue now (at most the queue capacity).
        public var queued: Int
        /// The most frames the live queue ever held.
        public var queueHighWater: Int
        /// Reconnection attempts so far.
        public var reconnects: Int
        /// Samples that could not be read as RGB frames (skipped).
        public var badSamples: Int
    }

    public var statistics: Statistics { core.statistics }
}

/// The state shared by a source's supervisor thread, its consumer and the C callbacks.
final class SourceCore: @unchecked Sendable {
    // Safety: immutable properties are set in init; every `var` is guarded by `condition`.
    let configuration: SourceConfiguration
    let description: String
    let name: String
    let queue: FrameQueue?
    private let handler: (@Sendable (SourceEvent) -> Void)?
    private let continuation: AsyncStream<SourceEvent>.Continuation
    private let condition = NSCondition()

    private var started = false
    private var thread: SupervisorThread?
    private var stopRequested = false
    private var supervisorDone = false
    private var current: Connection?
    private var terminal: Terminal?
    private var nextIndex = 0
    private var lastFrame: (connection: Int, at: ContinuousClock.Instant)?
    private var arrivals = 0
    private var liveConnection = 0
    private var pulled = 0, pulledDelivered = 0, reconnects = 0, badSamples = 0
    private var latestEvent: SourceEvent?

    static let liveNotice = "referstream-live"
    static let stopNotice = "referstream-stop"

    enum Terminal { case endOfStream, failed(IngestError), stopped }

    init(
        configuration: SourceConfiguration, description: String, name: String,
        handler: (@Sendable (SourceEvent) -> Void)?, continuation: AsyncStream<SourceEvent>.Continuation
    ) {
        self.configuration = configuration
        self.description = description
        self.name = name
        self.handler = handler
        self.continuation = continuation
        self.queue = configuration.isLive ? FrameQueue(capacity: configuration.liveQueueCapacity) : nil
    }

    // MARK: Lifecycle

    func start() throws(IngestError) {
        condition.lock()
        guard !started else {
            condition.unlock()
            throw IngestError(.stateChange, "the source was already started; make a new VideoSource to start again")
        }
        started = true
        condition.unlock()
        emit(.connecting(attempt: 1))
        let first: Connection
        do {
            first = try Connection(description: description, number: 1, core: self)
        } catch {
            finish(.failed(error))
            condition.lock()
            supervisorDone = true
            condition.unlock()
            throw error
        }
        // The body holds the core and the first connection; both are released before a join returns.
        let body: @Sendable () -> Void = { [self] in supervise(first: first) }
        do {
            let thread = try SupervisorThread(body: body)
            condition.withLock { self.thread = thread }
        } catch {
            finish(.failed(error))
            condition.withLock { supervisorDone = true }
            throw error
        }
    }

    func stop() {
        condition.lock()
        stopRequested = true
        let connection = current
        let wasStarted = started
        condition.broadcast()
        condition.unlock()
        connection?.post(Self.stopNotice)
        guard wasStarted else {
            finish(.stopped)
            return
        }
        condition.lock()
        let joinable = thread
        thread = nil
        condition.unlock()
        if let joinable, !joinable.isCurrent {
            joinable.join()
        }
        condition.lock()
        while !supervisorDone, !(joinable?.isCurrent ?? false) { condition.wait() }
        condition.unlock()
    }

    // MARK: Supervisor thread

    private enum Outcome { case stopped, endOfStream, lost(IngestError) }

    private func supervise(first: Connection) {
        var connection: Connection? = first
        var number = 1
        var attempt = 1
        while true {
            let outcome: Outcome
            if let active = connection, install(active) {
                var result = run(active)
                if case .endOfStream = result, !configuration.endOfStreamIsLoss, condition.withLock({ lastFrame == nil }) {
                    // Demuxers end quietly when a file holds no stream the output can link to (audio
                    // only, data typefound as something else): no frame at all is a failure, not an end.
                    result = .lost(IngestError(
                        .decode, "\(configuration.inputDescription) ended without a single video frame; it holds no video stream GStreamer can decode"))
                }
                outcome = result
                // Record the end before tearing down, so a consumer woken by the flush knows why.
                if case .endOfStream = outcome, !configuration.endOfStreamIsLoss { markTerminal(.endOfStream) }
                if case .lost(let error) = outcome, !configuration.reconnects { markTerminal(.failed(error)) }
                uninstall()
                active.pipeline.stop()
            } else {
                outcome = .stopped
            }
            connection = nil

            var cause: IngestError
            switch outcome {
            case .stopped:
                finish(.stopped)
                return done()
            case .endOfStream where !configuration.endOfStreamIsLoss:
                finish(.endOfStream)
                return done()
            case .endOfStream:
                cause = IngestError(.stream, "\(configuration.inputDescription) ended the stream")
            case .lost(let error):
                cause = error
            }
            guard configuration.reconnects else {
                finish(.failed(cause))
                return done()
            }
            let wasLive = condition.withLock { liveConnection == number }
            if wasLive {
                emit(.stalled(cause))
                attempt = 1
            }
            if let limit = configuration.reconnect.maxAttempts, attempt > limit {
                let message = limit == 0
                    ? "\(configuration.inputDescription) failed and reconnection is disabled"
                    : "\(configuration.inputDescription) failed and \(limit) reconnection attempt(s) did not bring it back"
                finish(.failed(IngestError(cause.code, "\(message): \(cause.message)", underlying: cause.underlying)))
                return done()
            }
            let delay = configuration.reconnect.delay(beforeAttempt: attempt)
            emit(.reconnecting(attempt: attempt, delay: delay, cause: cause))
            condition.withLock { reconnects += 1 }
            if waitForStop(delay) {
                finish(.stopped)
                return done()
            }
            attempt += 1
            number += 1
            emit(.connecting(attempt: attempt))
            do {
                connection = try Connection(description: description, number: number, core: self)
            } catch {
                // The same description parsed before; a failure now is not going to go away.
                finish(.failed(error))
                return done()
            }
        }
    }

    /// Makes `connection` the current one unless stop was requested.
    private func install(_ connection: Connection) -> Bool {
        condition.withLock {
            guard !stopRequested else { return false }
            current = connection
            condition.broadcast()
            return true
        }
    }

    private func uninstall() {
        condition.withLock { current = nil }
    }

    /// Plays the pipeline and watches its bus until it ends, fails, stalls or is stopped.
    private func run(_ connection: Connection) -> Outcome {
        do {
            try connection.pipeline.play(input: configuration.inputDescription)
        } catch {
            return .lost(error)
        }
        let startedAt = ContinuousClock.now
        let watchStalls = configuration.reconnects
        while true {
            var wait: Duration?
            let last = condition.withLock { lastFrame?.connection == connection.context.number ? lastFrame?.at : nil }
            // Live inputs: a stall deadline after every frame. All inputs: a first-frame deadline,
            // which also catches pipelines that wedge without an error (decodebin can swallow a
            // demuxer's error posted while it is still being plugged).
            if watchStalls || last == nil {
                let deadline = watchStalls
                    ? last.map { $0 + configuration.stallTimeout } ?? startedAt + configuration.connectTimeout
                    : startedAt + configuration.connectTimeout
                let now = ContinuousClock.now
                if now >= deadline {
                    if last != nil {
                        return .lost(IngestError(.timeout, "\(configuration.inputDescription) sent no frame for \(configuration.stallTimeout)"))
                    }
                    return .lost(IngestError(.timeout, "\(configuration.inputDescription) sent no first frame within \(configuration.connectTimeout)"))
                }
                wait = deadline - now
            }
            guard let message = connection.popMessage(timeout: wait) else { continue }
            defer { gst_message_unref(message) }
            switch rs_gst_message_type(message) {
            case GST_MESSAGE_ERROR:
                return .lost(IngestError.fromErrorMessage(message, input: configuration.inputDescription))
            case GST_MESSAGE_EOS:
                return .endOfStream
            case GST_MESSAGE_WARNING:
                emit(.warning(IngestError.warningText(message)))
            case GST_MESSAGE_APPLICATION:
                guard let structure = gst_message_get_structure(message) else { continue }
                if gst_structure_has_name(structure, Self.stopNotice) != 0 { return .stopped }
                if gst_structure_has_name(structure, Self.liveNotice) != 0 { emit(.live) }
            default:
                continue
            }
        }
    }

    /// Waits `delay` or until stop is requested; true if stopped.
    private func waitForStop(_ delay: Duration) -> Bool {
        let deadline = Date(timeIntervalSinceNow: FrameQueue.seconds(delay))
        condition.lock()
        defer { condition.unlock() }
        while !stopRequested {
            if !condition.wait(until: deadline) { return stopRequested }
        }
        return true
    }

    private func done() {
        condition.lock()
        supervisorDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// Records the terminal state (the first one wins) and wakes a consumer waiting for it.
    private func markTerminal(_ end: Terminal) {
        condition.lock()
        if terminal == nil { terminal = end }
        condition.broadcast()
        condition.unlock()
    }

    /// Records the terminal state, emits its event, then tells the consumer no more frames will come
    /// (in this order, so the event is out before `next` reports the end) and ends the event stream.
    private func finish(_ end: Terminal) {
        markTerminal(end)
        let final = condition.withLock { terminal ?? end }
        switch final {
        case .endOfStream: emit(.endOfStream)
        case .failed(let error): emit(.failed(error))
        case .stopped: emit(.stopped)
        }
        queue?.finish()
        continuation.finish()
    }

    func emit(_ event: SourceEvent) {
        condition.withLock { latestEvent = event }
        handler?(event)
        continuation.yield(event)
    }

    var lastEvent: SourceEvent? { condition.withLock { latestEvent } }

    // MARK: Callbacks (streaming threads)

    func takeFrameIndex() -> Int {
        condition.withLock {
            defer { nextIndex += 1 }
            return nextIndex
        }
    }

    /// Records a frame's arrival; true when it is the first of its connection (post a live notice).
    func noteFrame(connection: Int) -> Bool {
        condition.withLock {
            arrivals += 1
            condition.broadcast()
            lastFrame = (connection, .now)
            guard liveConnection != connection else { return false }
            liveConnection = connection
            return true
        }
    }

    func countBadSample() { condition.withLock { badSamples += 1 } }

    /// Wakes a consumer waiting in `pull` (end-of-stream reached on the appsink).
    func wakeConsumer() { condition.withLock { condition.broadcast() } }

    // MARK: Consumer

    func next(timeout: Duration) throws(IngestError) -> VideoSource.Next {
        if let queue {
            switch queue.pop(timeout: timeout) {
            case .frame(let frame): return .frame(frame)
            case .timedOut: return .timedOut
            case .finished: return try terminalResult()
            }
        }
        return try pull(timeout: timeout)
    }

    private func terminalResult() throws(IngestError) -> VideoSource.Next {
        let end = condition.withLock { terminal }
        if case .failed(let error) = end { throw error }
        return .endOfStream
    }

    /// Backpressure path: pull straight from the appsink (`gst_app_sink_try_pull_sample`).
    private func pull(timeout: Duration) throws(IngestError) -> VideoSource.Next {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (connection, end) = condition.withLock { (current, terminal) }
            if let end {
                if case .failed(let error) = end { throw error }
                return .endOfStream
            }
            guard let connection else {
                // Between start and the supervisor installing the pipeline: wait for either.
                let remaining = deadline - .now
                if remaining <= .zero { return .timedOut }
                condition.lock()
                if current == nil && terminal == nil {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: FrameQueue.seconds(remaining)))
                }
                condition.unlock()
                continue
            }
            guard let appsink = rs_gst_app_sink_cast(connection.sink.pointer) else {
                throw IngestError(.missingElement, "the pipeline's sink is not an appsink")
            }
            let arrivalsBefore = condition.withLock { arrivals }
            let remaining = max(deadline - .now, .zero)
            if let sample = gst_app_sink_try_pull_sample(appsink, GstClockTime(SourceConfiguration.nanoseconds(remaining))) {
                defer { gst_sample_unref(sample) }
                let frame = try connection.context.frame(from: sample)
                condition.withLock {
                    pulled += 1
                    pulledDelivered += 1
                }
                return .frame(frame)
            }
            // No sample: the end, a teardown (error, stop), a timeout, or an appsink that has not
            // started yet (before PAUSED it returns at once). Wait on our own condition for whichever
            // comes: a terminal verdict, a new arrival, or the deadline.
            condition.lock()
            while terminal == nil, arrivals == arrivalsBefore || connection.context.endOfStreamReached, .now < deadline {
                _ = condition.wait(until: Date(timeIntervalSinceNow: FrameQueue.seconds(max(deadline - .now, .zero))))
            }
            let ended = terminal
            condition.unlock()
            if let ended {
                if case .failed(let error) = ended { throw error }
                return .endOfStream
            }
            if ContinuousClock.now >= deadline { return .timedOut }
        }
    }

    var statistics: VideoSource.Statistics {
        let counts = queue?.counts
        return condition.withLock {
            VideoSource.Statistics(
                received: counts?.received ?? pulled, delivered: counts?.delivered ?? pulledDelivered,
                dropped: counts?.dropped ?? 0, queued: counts?.queued ?? 0,
                queueHighWater: counts?.highWater ?? 0, reconnects: reconnects, badSamples: badSamples)
        }
    }
}
