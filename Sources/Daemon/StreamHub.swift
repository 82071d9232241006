import Foundation
import Logging
import Transport
import VideoIngest
import WireProtocol

/// The daemon's shared state and the hand-off between ingest and inference.
///
/// Holds the declared streams, the phrases (ids are unique across streams: `phrase.set {id, text}`
/// names no stream) and, per running stream, a small queue of frames between its ingest thread and the
/// single inference thread:
/// - live sources keep only the newest frame (`liveQueueCapacity`): when the model is slower than the
///   camera the older one is dropped and counted, so frame age at publish stays bounded;
/// - files wait for room (backpressure): every frame is processed.
/// The inference thread takes frames round-robin over the streams that have one, so streams share the
/// model fairly, and a stream that stalls or reconnects only has an empty queue: it never blocks others.
///
/// Phrase changes from the control thread update the registry at once (replies are synchronous) and
/// reach the stream's engine as actions the inference thread applies before that stream's next frame.
///
/// Thread-safety: every method may be called from any thread; all state is guarded by `condition`.
final class StreamHub: @unchecked Sendable {
    // Safety: every `var` below is read and written only with `condition` locked.
    let condition = NSCondition()
    let logger: Logger
    let metrics: DaemonMetrics
    let publisher: MaskPublisher
    /// Frames a live stream keeps waiting for the model (the newest ones).
    let liveQueueCapacity: Int
    /// Frames a file stream keeps ready (its ingest thread waits when they are not taken).
    let fileQueueCapacity = 2

    private var records: [String: StreamRecord] = [:]
    private var order: [String] = []
    private var cursor = 0
    private var phrases: [String: PhraseEntry] = [:]
    private var phraseCounter = 0
    private var nextPhraseNumber = 1
    private var retired: [String] = []
    private(set) var stopping = false

    struct PhraseEntry: Sendable {
        var id: String
        var stream: String
        var text: String
        /// Creation order, for listings.
        var order: Int
    }

    enum EngineAction: Sendable {
        case add(id: String, text: String)
        case set(id: String, text: String)
        case remove(id: String)
    }

    enum Item: Sendable {
        case frame(VideoFrame)
        /// The source stalled: publish the frames waiting in a partial window now rather than when
        /// frames come back (their age would grow with the outage).
        case flush
        /// The input ended: nil at end-of-stream, else why it failed.
        case end(failure: String?)
    }

    /// One unit of work for the inference thread.
    struct Work: Sendable {
        var stream: String
        var generation: Int
        var item: Item
        /// Set when the stream (re)started: make a new engine with these phrases (id, text).
        var initialPhrases: [(id: String, text: String)]?
        var actions: [EngineAction]
        var window: (length: Int, stride: Int)
        /// Streams whose engines can be released.
        var retired: [String]
    }

    /// Per declared stream (only touched with `condition` locked).
    final class StreamRecord {
        let configuration: DaemonConfiguration.Stream
        var active = false
        var generation = 0
        var engineGeneration = -1
        var source: VideoSource?
        var ingestDone: DispatchSemaphore?
        var queue: [Item] = []
        var actions: [EngineAction] = []
        var state = "stopped"
        var startedAt: ContinuousClock.Instant?
        var lastFrameAt: ContinuousClock.Instant?
        var finished = false
        var failure: String?
        /// Totals of earlier runs' sources (a restart makes a new `VideoSource` that counts from 0).
        var base = VideoSourceTotals()
        var queueDropped: Int64 = 0
        var processed: Int64 = 0

        init(_ configuration: DaemonConfiguration.Stream) { self.configuration = configuration }
    }

    struct VideoSourceTotals: Sendable {
        var received: Int64 = 0
        var dropped: Int64 = 0
        var reconnects: Int64 = 0
    }

    init(streams: [DaemonConfiguration.Stream], publisher: MaskPublisher, metrics: DaemonMetrics, logger: Logger, liveQueueCapacity: Int = 1) {
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
        self.liveQueueCapacity = liveQueueCapacity
        for stream in streams {
            records[stream.id] = StreamRecord(stream)
            order.append(stream.id)
            for phrase in stream.phrases {
                phraseCounter += 1
                phrases[phrase.id] = PhraseEntry(id: phrase.id, stream: stream.id, text: phrase.text, order: phraseCounter)
            }
            metrics.setState("stopped", stream: stream.id)
            metrics.gauge("referstream_phrases", ["stream": stream.id]).record(stream.phrases.count)
            metrics.declare(stream: stream.id)
        }
    }

    // MARK: Streams

    /// Starts a declared stream's source and ingest thread. Idempotent for a running stream.
    /// - Throws: `.unknownStream` / `.streamNotDeclared`, or `.internalError` when the pipeline cannot start.
    func startStream(_ id: String) throws(WireProtocolError) {
        condition.lock()
        guard let record = records[id] else {
            condition.unlock()
            throw WireProtocolError(.streamNotDeclared, "no stream '\(id)' is declared in the configuration; declared: \(order.joined(separator: ", "))")
        }
        if record.active || stopping {
            condition.unlock()
            return
        }
        record.active = true
        record.generation += 1
        record.queue.removeAll()
        record.finished = false
        record.failure = nil
        record.state = "connecting"
        record.startedAt = .now
        record.lastFrameAt = nil
        let generation = record.generation
        condition.unlock()

        let log = logger.with(stream: id)
        let source: VideoSource
        do {
            source = try VideoSource(record.configuration.source, name: id) { [weak self] event in
                self?.sourceEvent(event, stream: id, generation: generation)
            }
            try source.start()
        } catch {
            log.error("cannot start the stream: \(error)")
            condition.withLock {
                record.active = false
                record.state = "failed"
                record.failure = "\(error)"
                record.finished = true
            }
            metrics.setState("failed", stream: id)
            throw WireProtocolError(.internalError, "the stream '\(id)' cannot start: \(error)")
        }
        let done = DispatchSemaphore(value: 0)
        condition.withLock {
            record.source = source
            record.ingestDone = done
        }
        let thread = Thread { [self] in
            ingest(source: source, stream: id, generation: generation)
            done.signal()
        }
        thread.name = "referstream.ingest.\(id)"
        thread.start()
        log.info("stream started: \(record.configuration.source.inputDescription)")
    }

    /// Stops a stream: its source is released, queued frames are discarded, its engine is retired.
    /// - Throws: `.unknownStream` for an id that is not declared.
    func stopStream(_ id: String, reason: String) throws(WireProtocolError) {
        condition.lock()
        guard let record = records[id] else {
            condition.unlock()
            throw WireProtocolError(.unknownStream, "no stream '\(id)'; streams: \(order.joined(separator: ", "))")
        }
        let wasActive = record.active
        let source = record.source, done = record.ingestDone
        record.active = false
        record.generation += 1
        record.queue.removeAll()
        record.source = nil
        record.ingestDone = nil
        record.state = "stopped"
        if let source { record.base.add(source.statistics) }
        retired.append(id)
        condition.broadcast()
        condition.unlock()
        source?.stop()
        done?.wait()
        metrics.setState("stopped", stream: id)
        if wasActive {
            publisher.publish(EventMessage(stream: id, event: .streamStopped, time: Date().timeIntervalSince1970, detail: reason))
            logger.with(stream: id).info("stream stopped (\(reason))")
        }
    }

    /// Stops every stream and wakes the inference thread for good.
    func stopAll(reason: String) {
        let ids = condition.withLock { () -> [String] in
            stopping = true
            condition.broadcast()
            return order
        }
        for id in ids { try? stopStream(id, reason: reason) }
    }

    /// The ingest thread of one stream run: frames from the source into the stream's queue.
    private func ingest(source: VideoSource, stream: String, generation: Int) {
        // Whether the frames given since the last flush may still wait in a partial window.
        var unflushed = false
        while true {
            let next: VideoSource.Next
            do {
                next = try source.next(timeout: .milliseconds(250))
            } catch {
                _ = offer(.end(failure: "\(error)"), stream: stream, generation: generation)
                return
            }
            switch next {
            case .frame(let frame):
                if !offer(.frame(frame), stream: stream, generation: generation) { return }
                unflushed = true
            case .timedOut:
                let (current, live) = condition.withLock { (records[stream]?.generation == generation, records[stream]?.state == "live") }
                if !current { return }
                // The source stalled or is reconnecting and its last frames came through: publish the
                // partial window now rather than after the outage (frame age would grow with it). Done
                // here, after the queues drained, not on the `stalled` event, which can overtake them.
                if unflushed && !live {
                    if !offer(.flush, stream: stream, generation: generation) { return }
                    unflushed = false
                }
            case .endOfStream:
                _ = offer(.end(failure: nil), stream: stream, generation: generation)
                return
            }
        }
    }

    /// Queues an item of a stream run. Live streams drop their oldest frame when full; files wait.
    /// - Returns: false when the run is over (stream stopped or daemon stopping).
    private func offer(_ item: Item, stream: String, generation: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let record = records[stream] else { return false }
        let live = record.configuration.source.isLive
        while true {
            guard record.generation == generation, record.active, !stopping else { return false }
            if case .end = item { break }
            if case .flush = item { break }
            record.lastFrameAt = .now
            if live {
                let frames = record.queue.filter { if case .frame = $0 { true } else { false } }.count
                if frames >= liveQueueCapacity, let first = record.queue.firstIndex(where: { if case .frame = $0 { true } else { false } }) {
                    record.queue.remove(at: first)
                    record.queueDropped += 1
                    metrics.counter("referstream_frames_dropped_total", ["stream": stream, "where": "queue"]).increment()
                }
                break
            }
            if record.queue.count < fileQueueCapacity { break }
            condition.wait()
        }
        record.queue.append(item)
        condition.broadcast()
        return true
    }

    /// The next unit of work, round-robin over the streams that have one; nil after `timeout` without
    /// work (the caller sends its watchdog keep-alive and comes back) or once the daemon is stopping.
    func nextWork(timeout: Duration) -> Work? {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18)
        condition.lock()
        defer { condition.unlock() }
        while !stopping {
            for step in 0..<order.count {
                let index = (cursor + step) % order.count
                let record = records[order[index]]!
                guard record.active, !record.queue.isEmpty else { continue }
                cursor = index + 1
                let item = record.queue.removeFirst()
                condition.broadcast()  // room for a waiting file ingest thread
                var work = Work(stream: record.configuration.id, generation: record.generation, item: item, actions: [],
                                window: record.configuration.window, retired: retired)
                retired.removeAll()
                if record.engineGeneration != record.generation {
                    record.engineGeneration = record.generation
                    work.initialPhrases = phrases.values.filter { $0.stream == record.configuration.id }
                        .sorted { $0.order < $1.order }.map { ($0.id, $0.text) }
                    record.actions.removeAll()
                } else {
                    work.actions = record.actions
                    record.actions.removeAll()
                }
                if case .end(let failure) = item {
                    record.finished = true
                    record.failure = failure
                }
                if case .frame = item { record.processed += 1 }
                return work
            }
            if !condition.wait(until: deadline) { return nil }
        }
        return nil
    }

    /// Whether a run is still the current one (its masks may be published).
    func isCurrent(stream: String, generation: Int) -> Bool {
        condition.withLock { records[stream]?.generation == generation && records[stream]?.active == true }
    }

    // MARK: Source events

    private func sourceEvent(_ event: SourceEvent, stream: String, generation: Int) {
        let log = logger.with(stream: stream)
        let current = condition.withLock { () -> Bool in
            guard let record = records[stream], record.generation == generation else { return false }
            if case .warning = event { return true }
            // A stop() of an old run reports `stopped`; the record already says so.
            record.state = event.name
            if case .live = event { record.lastFrameAt = .now }
            return true
        }
        guard current else { return }
        let now = Date().timeIntervalSince1970
        var kind: EventKind?
        var detail: String?
        switch event {
        case .connecting(let attempt):
            kind = .streamConnecting
            detail = "attempt \(attempt)"
            log.info("connecting (attempt \(attempt))")
        case .live:
            kind = .streamLive
            log.info("live")
        case .stalled(let error):
            kind = .streamStalled
            detail = "\(error)"
            log.warning("stalled: \(error)")
        case .reconnecting(let attempt, let delay, let cause):
            kind = .streamReconnecting
            detail = "attempt \(attempt) in \(delay): \(cause)"
            log.warning("reconnecting in \(delay) (attempt \(attempt)): \(cause)")
        case .warning(let text):
            log.notice("GStreamer warning: \(text)")
        case .endOfStream:
            kind = .streamEOS
            log.info("end of stream")
        case .failed(let error):
            kind = .streamEOS
            detail = "failed: \(error)"
            log.error("failed: \(error)")
        case .stopped:
            break
        }
        if case .warning = event {} else { metrics.setState(event.name, stream: stream) }
        if let kind { publisher.publish(EventMessage(stream: stream, event: kind, time: now, detail: detail)) }
    }

    // MARK: Phrases (control thread)

    func addPhrase(stream: String, text: String, id: String?) throws(WireProtocolError) -> PhraseInfo {
        condition.lock()
        guard let record = records[stream] else {
            condition.unlock()
            throw WireProtocolError(.unknownStream, "no stream '\(stream)'; streams: \(order.joined(separator: ", "))")
        }
        let phraseID: String
        if let id {
            guard phrases[id] == nil else {
                condition.unlock()
                throw WireProtocolError(.duplicatePhrase, "the phrase id '\(id)' is already used (stream '\(phrases[id]!.stream)'); choose another or use phrase.set")
            }
            phraseID = id
        } else {
            while phrases["p\(nextPhraseNumber)"] != nil { nextPhraseNumber += 1 }
            phraseID = "p\(nextPhraseNumber)"
        }
        phraseCounter += 1
        phrases[phraseID] = PhraseEntry(id: phraseID, stream: stream, text: text, order: phraseCounter)
        if record.engineGeneration == record.generation { record.actions.append(.add(id: phraseID, text: text)) }
        let count = phrases.values.filter { $0.stream == stream }.count
        condition.unlock()
        metrics.gauge("referstream_phrases", ["stream": stream]).record(count)
        publisher.publish(EventMessage(stream: stream, event: .phraseAdded, time: Date().timeIntervalSince1970, phraseID: phraseID, phrase: text))
        logger.with(stream: stream, phrase: phraseID).info("phrase added: \"\(text)\"")
        return PhraseInfo(id: phraseID, stream: stream, text: text)
    }

    func setPhrase(id: String, text: String) throws(WireProtocolError) -> PhraseInfo {
        condition.lock()
        guard var entry = phrases[id], let record = records[entry.stream] else {
            condition.unlock()
            throw WireProtocolError(.unknownPhrase, "no phrase '\(id)'; list them with `referstream phrase list`")
        }
        entry.text = text
        phrases[id] = entry
        if record.engineGeneration == record.generation { record.actions.append(.set(id: id, text: text)) }
        condition.unlock()
        publisher.publish(EventMessage(stream: entry.stream, event: .phraseReplaced, time: Date().timeIntervalSince1970, phraseID: id, phrase: text))
        logger.with(stream: entry.stream, phrase: id).info("phrase replaced: \"\(text)\"")
        return PhraseInfo(id: id, stream: entry.stream, text: text)
    }

    func removePhrase(id: String) throws(WireProtocolError) -> PhraseInfo {
        condition.lock()
        guard let entry = phrases.removeValue(forKey: id), let record = records[entry.stream] else {
            condition.unlock()
            throw WireProtocolError(.unknownPhrase, "no phrase '\(id)'; list them with `referstream phrase list`")
        }
        if record.engineGeneration == record.generation { record.actions.append(.remove(id: id)) }
        let count = phrases.values.filter { $0.stream == entry.stream }.count
        condition.unlock()
        metrics.gauge("referstream_phrases", ["stream": entry.stream]).record(count)
        publisher.resetSequence(stream: entry.stream, phraseID: id)
        publisher.publish(EventMessage(stream: entry.stream, event: .phraseRemoved, time: Date().timeIntervalSince1970, phraseID: id, phrase: entry.text))
        logger.with(stream: entry.stream, phrase: id).info("phrase removed")
        return PhraseInfo(id: id, stream: entry.stream, text: entry.text)
    }

    func phraseList(stream: String?) throws(WireProtocolError) -> [PhraseInfo] {
        condition.lock()
        defer { condition.unlock() }
        if let stream, records[stream] == nil {
            throw WireProtocolError(.unknownStream, "no stream '\(stream)'; streams: \(order.joined(separator: ", "))")
        }
        return phrases.values.filter { stream == nil || $0.stream == stream }.sorted { $0.order < $1.order }
            .map { PhraseInfo(id: $0.id, stream: $0.stream, text: $0.text) }
    }

    // MARK: Reports

    /// A snapshot of one stream, for `/healthz`, `stream.list` and `status`.
    struct StreamReport: Sendable {
        var id: String
        var state: String
        var active: Bool
        var finished: Bool
        var failure: String?
        /// Seconds since the last frame (or since the start, before the first frame); nil when not running.
        var silentFor: Double?
        var received: Int64
        var processed: Int64
        /// Frames dropped by the source's live queue and by the hub's (the model was behind).
        var dropped: Int64
        var sourceDropped: Int64
        var reconnects: Int64
        var phrases: Int
    }

    func reports() -> [StreamReport] {
        condition.withLock {
            let now = ContinuousClock.now
            return order.map { id in
                let r = records[id]!
                var totals = r.base
                if let source = r.source { totals.add(source.statistics) }
                let since = r.lastFrameAt ?? r.startedAt
                return StreamReport(
                    id: id, state: r.state, active: r.active, finished: r.finished, failure: r.failure,
                    silentFor: r.active ? since.map { (now - $0).seconds } : nil,
                    received: totals.received, processed: r.processed, dropped: totals.dropped + r.queueDropped, sourceDropped: totals.dropped,
                    reconnects: totals.reconnects, phrases: phrases.values.filter { $0.stream == id }.count)
            }
        }
    }

    /// Brings GStreamer-side counters into the metrics (called before each scrape).
    func updateMetrics() {
        for report in reports() {
            let labels = ["stream": report.id]
            metrics.advance("referstream_frames_received_total", labels, to: report.received)
            metrics.advance("referstream_frames_processed_total", labels, to: report.processed)
            metrics.advance("referstream_frames_dropped_total", ["stream": report.id, "where": "source"], to: report.sourceDropped)
            metrics.advance("referstream_reconnects_total", labels, to: report.reconnects)
        }
    }

    var streamIDs: [String] { condition.withLock { order } }

    func declaredEnabledStreams() -> [String] {
        condition.withLock { order.filter { records[$0]!.configuration.enabled } }
    }
}

extension StreamHub.VideoSourceTotals {
    mutating func add(_ s: VideoSource.Statistics) {
        received += Int64(s.received)
        dropped += Int64(s.dropped)
        reconnects += Int64(s.reconnects)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension Logger {
    /// This logger with `stream` (and `phrase`, `frame`) metadata.
    func with(stream: String, phrase: String? = nil, frame: Int? = nil) -> Logger {
        var copy = self
        copy[metadataKey: "stream"] = .string(stream)
        if let phrase { copy[metadataKey: "phrase"] = .string(phrase) }
        if let frame { copy[metadataKey: "frame"] = .stringConvertible(frame) }
        return copy
    }
}
