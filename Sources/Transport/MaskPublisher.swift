import Foundation
import Plumbing
import Synchronization
import WireProtocol
import ZeroMQ

/// One mask as the pipeline hands it to the publisher (the header fields the publisher does not fill).
public struct MaskFrame: Sendable {
    public var stream: String
    public var phraseID: String
    public var phrase: String
    public var trackID: Int?
    public var frame: Int64
    /// Presentation timestamp in seconds, nil when unknown.
    public var pts: Double?
    /// Wall-clock capture time, Unix seconds.
    public var captureTime: Double
    public var score: Double
    /// `[x, y, w, h]` in pixels of the original frame, nil when absent.
    public var box: [Double]?
    public var present: Bool
    /// The mask, at the frame's resolution.
    public var mask: BinaryMask

    public init(stream: String, phraseID: String, phrase: String, trackID: Int? = nil, frame: Int64, pts: Double? = nil,
                captureTime: Double, score: Double, box: [Double]? = nil, present: Bool, mask: BinaryMask) {
        self.stream = stream
        self.phraseID = phraseID
        self.phrase = phrase
        self.trackID = trackID
        self.frame = frame
        self.pts = pts
        self.captureTime = captureTime
        self.score = score
        self.box = box
        self.present = present
        self.mask = mask
    }
}

/// Builds the frames of mask messages: `[topic, header, payload]`. Pure; used by the publisher and by
/// the benchmark.
public enum MaskMessage {
    public static func frames(_ frame: MaskFrame, sequence: UInt64, encoding: MaskEncoding, publishTime: Double) -> [[UInt8]] {
        let header = MaskHeader(
            stream: frame.stream, phraseID: frame.phraseID, phrase: frame.phrase, trackID: frame.trackID,
            sequence: sequence, frame: frame.frame, pts: frame.pts, captureTime: frame.captureTime,
            publishTime: publishTime, width: frame.mask.width, height: frame.mask.height, score: frame.score,
            box: frame.box, present: frame.present, encoding: encoding)
        return [Array(Topic.mask(stream: frame.stream, phrase: frame.phraseID).utf8), header.jsonBytes(), encoding.encode(frame.mask)]
    }
}

/// Publishes masks, events and a periodic status on a PUB socket that lives on the publisher's own
/// thread.
///
/// `publish` never blocks the pipeline: it assigns the sequence number and appends to a bounded
/// drop-oldest queue under a lock; the publisher thread takes one message at a time, encodes it and
/// sends it with `ZMQ_DONTWAIT`. So under overload the newest mask always wins: the queue drops its
/// oldest masks, a mask that waited longer than `maxQueueDelay` is dropped when it reaches the front
/// if a newer mask of its stream and phrase is queued (the newest of each topic is always sent), and
/// nothing is set aside in a batch where neither rule could reach it.
///
/// Masks are lost in three places, all visible to subscribers as sequence gaps: the queue (full, or
/// too old; counted in `Statistics.dropped`), libzmq refusing a send (also counted), and libzmq's
/// per-subscriber high-water mark (`sendHighWaterMark`), where PUB drops silently per subscriber, so a
/// stalled subscriber never slows the others.
///
/// Thread-safety: every method may be called from any thread.
public final class MaskPublisher: Sendable {
    public struct Configuration: Sendable {
        /// Endpoints to bind, e.g. `tcp://127.0.0.1:5561` or `ipc:///run/referstream/masks`.
        public var endpoints: [String]
        /// Payload encoding of this publisher (a daemon serving several encodings runs one publisher per
        /// encoding, each on its own endpoint).
        public var encoding: MaskEncoding
        /// `ZMQ_SNDHWM`: messages queued per subscriber before libzmq drops for that subscriber.
        public var sendHighWaterMark: Int32
        /// Masks waiting for the publisher thread before the oldest is dropped.
        public var queueCapacity: Int
        /// The longest a mask may wait in the queue: an older one is dropped when it reaches the front
        /// (counted in `dropped` and `stale`) unless it is the newest queued mask of its stream and
        /// phrase, so under overload subscribers get fresh masks instead of a backlog and every topic
        /// still gets its latest mask. nil: no age limit (every queued mask is sent, for lossless
        /// consumers of pre-recorded input). Measured on the wall clock, the clock of the header's
        /// `publish_time`: a mask sent for being its topic's newest is at most this plus one send old.
        public var maxQueueDelay: Duration?
        /// Seconds between `status` messages; nil (or not positive) for none.
        public var statusInterval: Double?
        /// How long `stop` lets libzmq deliver messages already sent but still queued for subscribers
        /// (the last masks, a final event) before closing (`ZMQ_LINGER`); a subscriber that does not
        /// read delays `stop` by at most this.
        public var closeLinger: Duration
        /// CurveZMQ server settings, nil for a plain socket.
        public var curve: CurveServerConfiguration?
        /// Accept endpoints reachable from other machines (`tcp://*`, a LAN address). Off by default:
        /// masks stay on this machine unless the configuration says otherwise.
        public var allowNonLocalEndpoints: Bool

        public init(endpoints: [String] = ["tcp://127.0.0.1:5561"], encoding: MaskEncoding = .rle,
                    sendHighWaterMark: Int32 = 100, queueCapacity: Int = 64,
                    maxQueueDelay: Duration? = .milliseconds(250), statusInterval: Double? = 5,
                    closeLinger: Duration = .milliseconds(500),
                    curve: CurveServerConfiguration? = nil, allowNonLocalEndpoints: Bool = false) {
            self.allowNonLocalEndpoints = allowNonLocalEndpoints
            self.endpoints = endpoints
            self.encoding = encoding
            self.sendHighWaterMark = sendHighWaterMark
            self.queueCapacity = queueCapacity
            self.maxQueueDelay = maxQueueDelay
            self.statusInterval = statusInterval
            self.closeLinger = closeLinger
            self.curve = curve
        }
    }

    /// Counters since start.
    public struct Statistics: Sendable, Equatable {
        /// Masks given to `publish`.
        public var offered: UInt64 = 0
        /// Mask messages handed to libzmq.
        public var published: UInt64 = 0
        /// Masks dropped: the queue was full (drop-oldest), the mask waited longer than
        /// `maxQueueDelay`, or libzmq refused it (EAGAIN).
        public var dropped: UInt64 = 0
        /// Of `dropped`, the masks dropped for waiting longer than `maxQueueDelay`.
        public var stale: UInt64 = 0
        /// Event messages handed to libzmq.
        public var events: UInt64 = 0
        /// Events dropped because the event queue was full.
        public var eventsDropped: UInt64 = 0
        /// Status messages sent.
        public var statusMessages: UInt64 = 0
        /// Sends that failed with an error (logged in `lastError`).
        public var sendErrors: UInt64 = 0
    }

    /// A queued mask: the frame, its sequence number, when `publish` queued it (Unix seconds), its
    /// topic key and a ticket unique within this publisher (sequences restart after `resetSequence`).
    private struct QueuedMask: Sendable {
        var frame: MaskFrame
        var sequence: UInt64
        var queuedAt: Double
        var topic: String
        var ticket: UInt64
    }

    private enum Item: Sendable {
        case mask(QueuedMask)
        case event(EventMessage)
    }

    private struct State: Sendable {
        /// `mask` left the queue: forget it as its topic's newest.
        mutating func left(_ mask: QueuedMask) {
            if newest[mask.topic] == mask.ticket { newest[mask.topic] = nil }
        }

        var masks: DropOldestBuffer<QueuedMask>
        var events: DropOldestBuffer<EventMessage>
        var sequences: [String: UInt64] = [:]
        /// The ticket of the newest queued mask of each topic.
        var newest: [String: UInt64] = [:]
        var nextTicket: UInt64 = 0
        var statistics = Statistics()
        var running = false
        var stopping = false
        var lastError: String?
    }

    public let configuration: Configuration
    private let context: Context
    private let statusDetails: (@Sendable () -> JSONValue)?
    private let state: Monitor<State>
    private let thread = Mutex<ServiceThread?>(nil)

    /// - Parameters:
    ///   - context: the libzmq context (shared with the other sockets of the daemon).
    ///   - statusDetails: called on the publisher thread for the `details` of each status message.
    public init(context: Context, configuration: Configuration, statusDetails: (@Sendable () -> JSONValue)? = nil) {
        self.context = context
        self.configuration = configuration
        self.statusDetails = statusDetails
        self.state = Monitor(State(masks: DropOldestBuffer(capacity: max(1, configuration.queueCapacity)), events: DropOldestBuffer(capacity: 1024)))
    }

    /// Binds the PUB socket on the publisher thread and starts publishing.
    /// - Returns: the bound endpoints (with real ports for `tcp://…:*`).
    @discardableResult
    public func start() throws(TransportError) -> [String] {
        for endpoint in configuration.endpoints {
            try EndpointPolicy.check(endpoint, allowNonLocal: configuration.allowNonLocalEndpoints, what: "mask")
        }
        try configuration.curve?.checkAuthenticator(context)
        let alreadyRunning = state.withLock { state -> Bool in
            if state.running { return true }
            state.running = true
            return false
        }
        if alreadyRunning { throw TransportError(.state, "the mask publisher is already running") }
        let context = self.context, configuration = self.configuration
        do throws(TransportError) {
            let (thread, bound) = try ServiceThread.startService(name: "referstream.publisher") { [self] (ready: @escaping @Sendable (Result<[String], TransportError>) -> Void) in
                let socket: Socket
                var bound: [String] = []
                do throws(ZeroMQError) {
                    socket = try Socket(context, .pub)
                    try socket.set(.sendHighWaterMark(configuration.sendHighWaterMark))
                    let linger = configuration.closeLinger.components
                    try socket.set(.linger(milliseconds: Int32(clamping: max(0, linger.seconds * 1000 + linger.attoseconds / 1_000_000_000_000_000))))
                    try configuration.curve?.apply(to: socket)
                    for endpoint in configuration.endpoints {
                        try socket.bind(endpoint)
                        bound.append(try socket.lastEndpoint())
                    }
                } catch {
                    ready(.failure(.socket(error, "cannot set up the mask publisher")))
                    return
                }
                ready(.success(bound))
                run(socket)
            }
            self.thread.withLock { $0 = thread }
            return bound
        } catch {
            state.withLock { $0.running = false }
            throw error
        }
    }

    /// Offers a mask for publishing; returns its sequence number. Never blocks (a lock is taken briefly).
    @discardableResult
    public func publish(_ frame: MaskFrame) -> UInt64 {
        let queuedAt = Date().timeIntervalSince1970
        return state.withLock(notify: true) { state in
            let key = frame.stream + "/" + frame.phraseID
            let sequence = state.sequences[key, default: 0]
            state.sequences[key] = sequence + 1
            state.statistics.offered += 1
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.newest[key] = ticket
            if let evicted = state.masks.append(QueuedMask(frame: frame, sequence: sequence, queuedAt: queuedAt, topic: key, ticket: ticket)) {
                state.statistics.dropped += 1
                state.left(evicted)
            }
            return sequence
        }
    }

    /// Offers an event for the `events/<stream>` topic. Never blocks.
    public func publish(_ event: EventMessage) {
        state.withLock(notify: true) { state in
            if state.events.append(event) != nil { state.statistics.eventsDropped += 1 }
        }
    }

    /// Forgets the sequence number of a phrase (after `phrase.remove`), so a phrase id reused later starts
    /// at 0 again.
    public func resetSequence(stream: String, phraseID: String) {
        state.withLock { _ = $0.sequences.removeValue(forKey: stream + "/" + phraseID) }
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// The last send error, if any (for the daemon's log).
    public var lastError: String? { state.withLock { $0.lastError } }

    /// Sends what is queued (masks older than `maxQueueDelay` excepted), closes the socket (waiting up to
    /// `closeLinger` for subscribers to take what libzmq still holds) and joins
    /// the thread. Idempotent.
    public func stop() {
        let wasRunning = state.withLock(notify: true) { state -> Bool in
            guard state.running, !state.stopping else { return false }
            state.stopping = true
            return true
        }
        guard wasRunning else { return }
        thread.withLock { $0.take() }?.join()
        state.withLock { state in
            state.running = false
            state.stopping = false
        }
    }

    deinit { stop() }

    /// Takes the next message to send: events first, then the oldest mask that is not too old or is
    /// the newest of its topic (older ones are dropped on the way). Runs with the lock held; `now` is
    /// the publish time.
    private func next(_ state: inout State, now: Double) -> Item? {
        if let event = state.events.popFirst() { return .event(event) }
        if let limit = configuration.maxQueueDelay.map(Self.seconds) {
            while let oldest = state.masks.first, now - oldest.queuedAt > limit, state.newest[oldest.topic] != oldest.ticket {
                _ = state.masks.dropFirst()
                state.statistics.dropped += 1
                state.statistics.stale += 1
            }
        }
        guard let mask = state.masks.popFirst() else { return nil }
        state.left(mask)
        return .mask(mask)
    }

    private func run(_ socket: Socket) {
        let started = Date().timeIntervalSince1970
        // A non-positive interval would spin: treat it as "no status messages".
        let interval = configuration.statusInterval.flatMap { $0 > 0 ? Duration.seconds($0) : nil }
        var nextStatus = interval.map { ContinuousClock.now + $0 }
        while true {
            // One message per turn: what stays queued remains subject to drop-oldest and the age limit.
            let (item, now, stopping) = state.wait(
                until: { !$0.masks.isEmpty || !$0.events.isEmpty || $0.stopping }, deadline: nextStatus
            ) { state, _ -> (Item?, Double, Bool) in
                let now = Date().timeIntervalSince1970
                return (next(&state, now: now), now, state.stopping)
            }
            if let item { send(item, on: socket, publishTime: now) }
            if let due = nextStatus, ContinuousClock.now >= due {
                let now = Date().timeIntervalSince1970
                let snapshot = statistics
                let status = StatusMessage(
                    time: now, uptime: now - started, published: snapshot.published,
                    dropped: snapshot.dropped, events: snapshot.events, details: statusDetails?() ?? .null)
                let sent = (try? socket.send([Array(Topic.status.utf8), status.wireJSON() ?? Array("{}".utf8)], dontWait: true)) ?? false
                if sent { state.withLock { $0.statistics.statusMessages += 1 } }
                nextStatus = interval.map { ContinuousClock.now + $0 }
            }
            // Stopping: send what is queued first (`item` nil means the queues are empty).
            if stopping && item == nil { return }
        }
    }

    /// Encodes and sends one message (`ZMQ_DONTWAIT`) and counts the outcome.
    private func send(_ item: Item, on socket: Socket, publishTime: Double) {
        let frames: [[UInt8]]
        switch item {
        case .mask(let queued):
            frames = MaskMessage.frames(queued.frame, sequence: queued.sequence, encoding: configuration.encoding, publishTime: publishTime)
        case .event(let event):
            frames = [Array(Topic.events(stream: event.stream).utf8), event.wireJSON() ?? Array("{}".utf8)]
        }
        let outcome: Result<Bool, any Error>
        do { outcome = .success(try socket.send(frames, dontWait: true)) } catch { outcome = .failure(error) }
        state.withLock { state in
            switch outcome {
            case .success(true):
                if case .mask = item { state.statistics.published += 1 } else { state.statistics.events += 1 }
            case .success(false):
                state.statistics.dropped += 1
            case .failure(let error):
                state.statistics.sendErrors += 1
                state.lastError = "\(error)"
            }
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
