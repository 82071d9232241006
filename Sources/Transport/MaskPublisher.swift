import Foundation
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
/// drop-oldest queue under a lock; the publisher thread encodes and sends with `ZMQ_DONTWAIT`. Masks are
/// lost in two places, both visible to subscribers as sequence gaps: the queue (counted in
/// `Statistics.dropped`) and libzmq's per-subscriber high-water mark (`sendHighWaterMark`), where PUB
/// drops silently per subscriber, so a stalled subscriber never slows the others.
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
        /// Seconds between `status` messages; nil for none.
        public var statusInterval: Double?
        /// CurveZMQ server settings, nil for a plain socket.
        public var curve: CurveServerConfiguration?
        /// Accept endpoints reachable from other machines (`tcp://*`, a LAN address). Off by default:
        /// masks stay on this machine unless the configuration says otherwise.
        public var allowNonLocalEndpoints: Bool

        public init(endpoints: [String] = ["tcp://127.0.0.1:5561"], encoding: MaskEncoding = .rle,
                    sendHighWaterMark: Int32 = 100, queueCapacity: Int = 64, statusInterval: Double? = 5,
                    curve: CurveServerConfiguration? = nil, allowNonLocalEndpoints: Bool = false) {
            self.allowNonLocalEndpoints = allowNonLocalEndpoints
            self.endpoints = endpoints
            self.encoding = encoding
            self.sendHighWaterMark = sendHighWaterMark
            self.queueCapacity = queueCapacity
            self.statusInterval = statusInterval
            self.curve = curve
        }
    }

    /// Counters since start.
    public struct Statistics: Sendable, Equatable {
        /// Masks given to `publish`.
        public var offered: UInt64 = 0
        /// Mask messages handed to libzmq.
        public var published: UInt64 = 0
        /// Masks dropped because the queue was full (drop-oldest) or libzmq refused them (EAGAIN).
        public var dropped: UInt64 = 0
        /// Event messages handed to libzmq.
        public var events: UInt64 = 0
        /// Events dropped because the event queue was full.
        public var eventsDropped: UInt64 = 0
        /// Status messages sent.
        public var statusMessages: UInt64 = 0
        /// Sends that failed with an error (logged in `lastError`).
        public var sendErrors: UInt64 = 0
    }

    private enum Item: Sendable {
        case mask(MaskFrame, UInt64)
        case event(EventMessage)
    }

    private struct State {
        var masks: RingBuffer<Item>
        var events: RingBuffer<Item>
        var sequences: [String: UInt64] = [:]
        var statistics = Statistics()
        var running = false
        var stopping = false
        var lastError: String?
    }

    public let configuration: Configuration
    private let context: Context
    private let statusDetails: (@Sendable () -> JSONValue)?
    private let condition = NSCondition()
    // Safety: `state` is only accessed with `condition` locked.
    nonisolated(unsafe) private var state: State
    private let thread = ServiceThread(name: "referstream.publisher")

    /// - Parameters:
    ///   - context: the libzmq context (shared with the other sockets of the daemon).
    ///   - statusDetails: called on the publisher thread for the `details` of each status message.
    public init(context: Context, configuration: Configuration, statusDetails: (@Sendable () -> JSONValue)? = nil) {
        self.context = context
        self.configuration = configuration
        self.statusDetails = statusDetails
        self.state = State(masks: RingBuffer(capacity: max(1, configuration.queueCapacity)), events: RingBuffer(capacity: 1024))
    }

    /// Binds the PUB socket on the publisher thread and starts publishing.
    /// - Returns: the bound endpoints (with real ports for `tcp://…:*`).
    @discardableResult
    public func start() throws(TransportError) -> [String] {
        for endpoint in configuration.endpoints {
            try EndpointPolicy.check(endpoint, allowNonLocal: configuration.allowNonLocalEndpoints, what: "mask")
        }
        let alreadyRunning = condition.withLock { () -> Bool in
            if state.running { return true }
            state.running = true
            return false
        }
        if alreadyRunning { throw TransportError(.state, "the mask publisher is already running") }
        let context = self.context, configuration = self.configuration
        do throws(TransportError) {
            return try thread.start { [self] ready in
                let socket: Socket
                var bound: [String] = []
                do throws(ZeroMQError) {
                    socket = try Socket(context, .pub)
                    try socket.set(.sendHighWaterMark(configuration.sendHighWaterMark))
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
        } catch {
            condition.withLock { state.running = false }
            throw error
        }
    }

    /// Offers a mask for publishing; returns its sequence number. Never blocks (a lock is taken briefly).
    @discardableResult
    public func publish(_ frame: MaskFrame) -> UInt64 {
        condition.withLock {
            let key = frame.stream + "/" + frame.phraseID
            let sequence = state.sequences[key, default: 0]
            state.sequences[key] = sequence + 1
            state.statistics.offered += 1
            if state.masks.append(.mask(frame, sequence)) != nil { state.statistics.dropped += 1 }
            condition.signal()
            return sequence
        }
    }

    /// Offers an event for the `events/<stream>` topic. Never blocks.
    public func publish(_ event: EventMessage) {
        condition.withLock {
            if state.events.append(.event(event)) != nil { state.statistics.eventsDropped += 1 }
            condition.signal()
        }
    }

    /// Forgets the sequence number of a phrase (after `phrase.remove`), so a phrase id reused later starts
    /// at 0 again.
    public func resetSequence(stream: String, phraseID: String) {
        condition.withLock { _ = state.sequences.removeValue(forKey: stream + "/" + phraseID) }
    }

    public var statistics: Statistics { condition.withLock { state.statistics } }

    /// The last send error, if any (for the daemon's log).
    public var lastError: String? { condition.withLock { state.lastError } }

    /// Sends what is queued, closes the socket and joins the thread. Idempotent.
    public func stop() {
        let wasRunning = condition.withLock { () -> Bool in
            guard state.running, !state.stopping else { return false }
            state.stopping = true
            condition.signal()
            return true
        }
        guard wasRunning else { return }
        thread.join()
        condition.withLock {
            state.running = false
            state.stopping = false
        }
    }

    deinit { stop() }

    private func run(_ socket: Socket) {
        let started = Date().timeIntervalSince1970
        var nextStatus = configuration.statusInterval.map { started + $0 }
        while true {
            var batch: [Item] = []
            let stopping = condition.withLock { () -> Bool in
                while state.masks.isEmpty && state.events.isEmpty && !state.stopping {
                    if let next = nextStatus {
                        if Date().timeIntervalSince1970 >= next { break }
                        _ = condition.wait(until: Date(timeIntervalSince1970: next))
                    } else {
                        condition.wait()
                    }
                }
                while let item = state.events.popFirst() { batch.append(item) }
                while let item = state.masks.popFirst() { batch.append(item) }
                return state.stopping
            }
            var published: UInt64 = 0, events: UInt64 = 0, refused: UInt64 = 0, errors: UInt64 = 0
            var lastError: String?
            for item in batch {
                let now = Date().timeIntervalSince1970
                let frames: [[UInt8]]
                switch item {
                case .mask(let frame, let sequence):
                    frames = MaskMessage.frames(frame, sequence: sequence, encoding: configuration.encoding, publishTime: now)
                case .event(let event):
                    frames = [Array(Topic.events(stream: event.stream).utf8), event.wireJSON() ?? Array("{}".utf8)]
                }
                do {
                    if try socket.send(frames, dontWait: true) {
                        if case .mask = item { published += 1 } else { events += 1 }
                    } else {
                        refused += 1
                    }
                } catch {
                    errors += 1
                    lastError = "\(error)"
                }
            }
            var statusSent = false
            let now = Date().timeIntervalSince1970
            if let next = nextStatus, now >= next {
                let snapshot = statistics
                let status = StatusMessage(
                    time: now, uptime: now - started, published: snapshot.published + published,
                    dropped: snapshot.dropped + refused, events: snapshot.events + events,
                    details: statusDetails?() ?? .null)
                statusSent = (try? socket.send([Array(Topic.status.utf8), status.wireJSON() ?? Array("{}".utf8)], dontWait: true)) ?? false
                nextStatus = now + (configuration.statusInterval ?? 0)
            }
            condition.withLock {
                state.statistics.published += published
                state.statistics.events += events
                state.statistics.dropped += refused
                state.statistics.sendErrors += errors
                if statusSent { state.statistics.statusMessages += 1 }
                if let lastError { state.lastError = lastError }
            }
            if stopping { return }
        }
    }
}
