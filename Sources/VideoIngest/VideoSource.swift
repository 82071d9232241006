import CGStreamer
import CGStreamerShims
import Plumbing

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
public final class VideoSource: Sendable {
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
final class SourceCore: Sendable {
    let configuration: SourceConfiguration
    let description: String
    let name: String
    /// Live inputs only: the drop-oldest queue filled by the appsink callback.
    let queue: DropOldestQueue<VideoFrame>?
    private let handler: (@Sendable (SourceEvent) -> Void)?
    private let continuation: AsyncStream<SourceEvent>.Continuation
    private let state = Monitor(State())

    private struct State: Sendable {
        var started = false
        var thread: ServiceThread?
        var stopRequested = false
        var supervisorDone = false
        var current: Connection?
        /// Why the source ended (the first verdict wins), recorded before the pipeline is torn down.
        var terminal: Terminal?
        /// Whether the terminal event has been emitted: the consumer reports the end only then, so
        /// the `eos` / `failed` / `stopped` event is always out before `next` says so.
        var announced = false
        var nextIndex = 0
        var lastFrame: (connection: Int, at: ContinuousClock.Instant)?
        var arrivals = 0
        var liveConnection = 0
        var pulled = 0, pulledDelivered = 0, reconnects = 0, badSamples = 0
        var latestEvent: SourceEvent?

        /// The end the consumer may report now (nil until the terminal event is out).
        var announcedEnd: Terminal? { announced ? terminal : nil }
    }

    static let liveNotice = "referstream-live"
    static let stopNotice = "referstream-stop"

    enum Terminal: Sendable { case endOfStream, failed(IngestError), stopped }

    init(
        configuration: SourceConfiguration, description: String, name: String,
        handler: (@Sendable (SourceEvent) -> Void)?, continuation: AsyncStream<SourceEvent>.Continuation
    ) {
        self.configuration = configuration
        self.description = description
        self.name = name
        self.handler = handler
        self.continuation = continuation
        self.queue = configuration.isLive ? DropOldestQueue(capacity: configuration.liveQueueCapacity) : nil
    }

    // MARK: Lifecycle

    func start() throws(IngestError) {
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else {
            throw IngestError(.stateChange, "the source was already started; make a new VideoSource to start again")
        }
        emit(.connecting(attempt: 1))
        let first: Connection
        do {
            first = try Connection(description: description, number: 1, core: self)
        } catch {
            finish(.failed(error))
            done()
            throw error
        }
        // The body holds the core and the first connection; both are released before a join returns.
        do {
            let thread = try ServiceThread(name: "referstream.source") { [self] in
                // Registered before any event, so a stop() from an event handler knows its own thread.
                state.wait(until: { $0.thread != nil }) { _, _ in }
                supervise(first: first)
            }
            state.withLock(notify: true) { $0.thread = thread }
        } catch {
            let failure = IngestError(.stateChange, "cannot start the source's supervisor: \(error)")
            finish(.failed(failure))
            done()
            throw failure
        }
    }

    func stop() {
        let (connection, wasStarted) = state.withLock(notify: true) { state in
            state.stopRequested = true
            return (state.current, state.started)
        }
        connection?.post(Self.stopNotice)
        guard wasStarted else {
            finish(.stopped)
            return
        }
        let supervisor = state.withLock { $0.thread }
        if let supervisor, supervisor.isCurrent {
            // stop() from the supervisor's own thread (an event handler): it ends after this returns.
            return
        }
        supervisor?.join()  // idempotent; concurrent stops all wait here
        state.wait(until: { $0.supervisorDone }) { _, _ in }
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
                if case .endOfStream = result, !configuration.endOfStreamIsLoss, state.withLock({ $0.lastFrame == nil }) {
                    // Demuxers end quietly when a file holds no stream the output can link to (audio
                    // only, data typefound as something else): no frame at all is a failure, not an end.
                    result = .lost(IngestError(
                        .decode, "\(configuration.inputDescription) ended without a single video frame; it holds no video stream GStreamer can decode"))
                }
                outcome = result
                // Record the end before tearing down, so a consumer woken by the flush knows an end
                // is coming (it reports it once `finish` has emitted the event).
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
            let wasLive = state.withLock { $0.liveConnection == number }
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
            state.withLock { $0.reconnects += 1 }
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
        state.withLock(notify: true) { state in
            guard !state.stopRequested else { return false }
            state.current = connection
            return true
        }
    }

    private func uninstall() {
        state.withLock { $0.current = nil }
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
            let last = state.withLock { $0.lastFrame?.connection == connection.context.number ? $0.lastFrame?.at : nil }
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
                // rtspsrc says so at once when the server drops the session (its TCP connection
                // closes); the EOS or error it posts next can lag behind, so a live input treats
                // this warning as the loss itself.
                if watchStalls, let lost = IngestError.sessionLoss(message, input: configuration.inputDescription) {
                    return .lost(lost)
                }
                emit(.warning(IngestError.warningText(message)))
            case GST_MESSAGE_ELEMENT:
                // rtspsrc's RTCP watchdog (`GstRTSPSrcTimeout`): the server's RTP source timed out.
                if watchStalls, let lost = IngestError.sessionTimeout(message, input: configuration.inputDescription) {
                    return .lost(lost)
                }
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
        state.wait(until: { $0.stopRequested }, deadline: .now + delay) { _, stopped in stopped }
    }

    private func done() {
        state.withLock(notify: true) { $0.supervisorDone = true }
    }

    /// Records the terminal state (the first one wins) and wakes a consumer waiting for it.
    private func markTerminal(_ end: Terminal) {
        state.withLock(notify: true) { state in
            if state.terminal == nil { state.terminal = end }
        }
    }

    /// Records the terminal state, emits its event, then tells the consumer no more frames will come
    /// (in this order, so the event is out before `next` reports the end) and ends the event stream.
    private func finish(_ end: Terminal) {
        markTerminal(end)
        let final = state.withLock { $0.terminal ?? end }
        switch final {
        case .endOfStream: emit(.endOfStream)
        case .failed(let error): emit(.failed(error))
        case .stopped: emit(.stopped)
        }
        state.withLock(notify: true) { $0.announced = true }
        queue?.finish()
        continuation.finish()
    }

    func emit(_ event: SourceEvent) {
        state.withLock { $0.latestEvent = event }
        handler?(event)
        continuation.yield(event)
    }

    var lastEvent: SourceEvent? { state.withLock { $0.latestEvent } }

    // MARK: Callbacks (streaming threads)

    func takeFrameIndex() -> Int {
        state.withLock { state in
            defer { state.nextIndex += 1 }
            return state.nextIndex
        }
    }

    /// Records a frame's arrival; true when it is the first of its connection (post a live notice).
    func noteFrame(connection: Int) -> Bool {
        state.withLock(notify: true) { state in
            state.arrivals += 1
            state.lastFrame = (connection, .now)
            guard state.liveConnection != connection else { return false }
            state.liveConnection = connection
            return true
        }
    }

    func countBadSample() { state.withLock { $0.badSamples += 1 } }

    /// Wakes a consumer waiting in `pull` (end-of-stream reached on the appsink).
    func wakeConsumer() { state.withLock(notify: true) { _ in } }

    // MARK: Consumer

    func next(timeout: Duration) throws(IngestError) -> VideoSource.Next {
        if let queue {
            switch queue.pop(timeout: timeout) {
            case .element(let frame): return .frame(frame)
            case .timedOut: return .timedOut
            case .finished: return try terminalResult()
            }
        }
        return try pull(timeout: timeout)
    }

    private func terminalResult() throws(IngestError) -> VideoSource.Next {
        let end = state.withLock { $0.terminal }
        if case .failed(let error) = end { throw error }
        return .endOfStream
    }

    private static func result(of end: Terminal) throws(IngestError) -> VideoSource.Next {
        if case .failed(let error) = end { throw error }
        return .endOfStream
    }

    /// Backpressure path: pull straight from the appsink (`gst_app_sink_try_pull_sample`).
    private func pull(timeout: Duration) throws(IngestError) -> VideoSource.Next {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (connection, end) = state.withLock { ($0.current, $0.announcedEnd) }
            if let end { return try Self.result(of: end) }
            guard let connection else {
                // Between start and the supervisor installing the pipeline, or between the teardown
                // and the end's announcement: wait for either.
                let ready = state.wait(until: { $0.current != nil || $0.announced }, deadline: deadline) { _, ready in ready }
                if !ready { return .timedOut }
                continue
            }
            guard let appsink = rs_gst_app_sink_cast(connection.sink.pointer) else {
                throw IngestError(.missingElement, "the pipeline's sink is not an appsink")
            }
            let arrivalsBefore = state.withLock { $0.arrivals }
            let remaining = max(deadline - .now, .zero)
            if let sample = gst_app_sink_try_pull_sample(appsink, GstClockTime(SourceConfiguration.nanoseconds(remaining))) {
                defer { gst_sample_unref(sample) }
                let frame = try connection.context.frame(from: sample)
                state.withLock { state in
                    state.pulled += 1
                    state.pulledDelivered += 1
                }
                return .frame(frame)
            }
            // No sample: the end, a teardown (error, stop), a timeout, or an appsink that has not
            // started yet (before PAUSED it returns at once). Wait for whichever comes: an announced
            // end, a new arrival, another connection, or the deadline.
            let endOfStream = connection.context.endOfStreamReached
            let ended = state.wait(
                until: { $0.announced || $0.current !== connection || ($0.arrivals != arrivalsBefore && !endOfStream) },
                deadline: deadline
            ) { state, _ in state.announcedEnd }
            if let ended { return try Self.result(of: ended) }
            if ContinuousClock.now >= deadline { return .timedOut }
        }
    }

    var statistics: VideoSource.Statistics {
        let counts = queue?.counters
        return state.withLock { state in
            VideoSource.Statistics(
                received: counts?.enqueued ?? state.pulled, delivered: counts?.delivered ?? state.pulledDelivered,
                dropped: counts?.dropped ?? 0, queued: counts?.queued ?? 0,
                queueHighWater: counts?.highWater ?? 0, reconnects: state.reconnects, badSamples: state.badSamples)
        }
    }
}
