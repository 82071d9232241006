import Foundation
import Logging
import Tracking
import Transport
import VideoIngest
import WireProtocol

/// The inference thread: takes frames from the hub round-robin, runs each stream's engine on the shared
/// model, and offers the masks to the publisher.
///
/// BLAS-heavy work belongs on a dedicated thread, never on the cooperative pool. The loop also sends
/// systemd's watchdog keep-alives (between frames, and while idle), so a model that hangs stops them and
/// systemd restarts the daemon. Engines are created here and only used here (they are not thread-safe).
final class InferenceLoop: @unchecked Sendable {
    // Safety: `engines`, `lastStages` and `presence` are only used on the loop's thread; `done` and
    // `stopRequested` are thread-safe / guarded by `lock`.
    private let hub: StreamHub
    private let model: LoadedModel
    private let shorterSide: Int
    private let pixelDecoder: PixelDecoderMode
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let metrics: DaemonMetrics
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var started = false

    private struct EngineState {
        var generation: Int
        var engine: StreamEngine
        var nextIndex = 0
        /// Engine frame index → what the masks of that frame need from the source frame.
        var frames: [Int: FrameInfo] = [:]
        var stages: [String: Double] = [:]
        var windows = 0
    }

    private struct FrameInfo {
        var index: Int
        var pts: Duration?
        var captureTime: Date
        var receivedAt: ContinuousClock.Instant
        var width: Int
        var height: Int
    }

    private var engines: [String: EngineState] = [:]
    /// Whether each (stream/phrase) was present in its last mask, for track.acquired / track.lost events.
    private var presence: [String: Bool] = [:]

    init(hub: StreamHub, model: LoadedModel, shorterSide: Int, pixelDecoder: PixelDecoderMode = .exact, notifier: SystemdNotifier, metrics: DaemonMetrics, logger: Logger) {
        self.hub = hub
        self.model = model
        self.shorterSide = shorterSide
        self.pixelDecoder = pixelDecoder
        self.notifier = notifier
        self.metrics = metrics
        self.logger = logger
    }

    /// Starts the thread (once).
    func start() {
        let first = lock.withLock { () -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return }
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "referstream.inference"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Waits until the loop has ended (after `hub.stopAll`), at most `timeout`.
    /// - Returns: false when the window in flight did not finish in time (it is abandoned: the process
    ///   exits around it).
    func join(timeout: Duration) -> Bool {
        guard lock.withLock({ started }) else { return true }
        let ok = done.wait(timeout: .now() + timeout.seconds) == .success
        if ok { done.signal() }  // let a second join return at once too
        return ok
    }

    private func run() {
        // Keep-alives at half the watchdog period, as sd_watchdog_enabled(3) advises.
        let keepAlive = notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(5)
        var lastPing = ContinuousClock.now
        var lastStatus = ContinuousClock.now
        notifier.watchdog()
        // Since when the loop has been free to take a frame (for the hand-off part of the overhead).
        var idleSince = ContinuousClock.now
        while !hub.stopping {
            let work = hub.nextWork(timeout: keepAlive)
            let now = ContinuousClock.now
            if now - lastPing >= keepAlive / 2 {
                notifier.watchdog()
                lastPing = now
            }
            if now - lastStatus >= .seconds(5) {
                lastStatus = now
                notifier.status(statusLine())
            }
            guard let work else { continue }
            for id in work.retired { engines.removeValue(forKey: id) }
            process(work, dequeued: now, idleSince: idleSince)
            idleSince = ContinuousClock.now
        }
    }

    private func statusLine() -> String {
        let reports = hub.reports()
        let live = reports.filter { $0.state == "live" }.count
        let processed = reports.reduce(0) { $0 + $1.processed }
        return "\(reports.filter(\.active).count) streams running (\(live) live), \(processed) frames processed"
    }

    /// Stages of the engine's statistics that are the model's compute (the rest of a frame's time in
    /// the loop is pipeline overhead). `backbone` includes the input normalisation (the frames arrive
    /// at the network size: GStreamer scales them).
    static let modelStages = ["backbone", "detection", "text", "window"]

    /// - Parameters:
    ///   - dequeued: when the hub handed the work over.
    ///   - idleSince: when the loop became free to take it (after the previous work).
    private func process(_ work: StreamHub.Work, dequeued: ContinuousClock.Instant, idleSince: ContinuousClock.Instant) {
        let log = logger.with(stream: work.stream)
        if let phrases = work.initialPhrases {
            let engine = StreamEngine(model: model, window: work.window, shorterSide: shorterSide, pixelDecoder: pixelDecoder)
            for (id, text) in phrases {
                do { try engine.addPhrase(id: id, text: text) } catch {
                    log.with(stream: work.stream, phrase: id).error("\(error)")
                }
            }
            engines[work.stream] = EngineState(generation: work.generation, engine: engine)
        }
        guard var state = engines[work.stream], state.generation == work.generation else { return }
        for action in work.actions {
            do {
                switch action {
                case .add(let id, let text): try state.engine.addPhrase(id: id, text: text)
                case .set(let id, let text): try state.engine.setPhrase(id: id, text: text)
                case .remove(let id):
                    state.engine.removePhrase(id: id)
                    presence.removeValue(forKey: work.stream + "/" + id)
                }
            } catch {
                log.error("\(error)")
            }
        }
        let masks: [EngineMask]
        let start = ContinuousClock.now
        do {
            switch work.item {
            case .frame(let frame):
                let index = state.nextIndex
                state.nextIndex += 1
                state.frames[index] = FrameInfo(index: frame.index, pts: frame.presentationTime, captureTime: frame.captureTime,
                                                receivedAt: frame.receivedAt, width: frame.width, height: frame.height)
                masks = try state.engine.push(pixels: frame.pixels, width: frame.width, height: frame.height, index: index)
            case .flush:
                masks = try state.engine.flush()
            case .end(let failure):
                masks = try state.engine.flush()
                if let failure { log.info("flushing after the source failed: \(failure)") }
            }
        } catch {
            log.error("\(error)")
            engines[work.stream] = state
            return
        }
        let elapsed = ContinuousClock.now - start
        metrics.timer("referstream_inference_push_seconds", ["stream": work.stream]).recordNanoseconds(elapsed.nanoseconds)
        let statistics = state.engine.statistics
        for (stage, seconds) in statistics.stageSeconds {
            metrics.add(seconds: seconds - (state.stages[stage] ?? 0), to: "referstream_inference_stage_seconds_total", ["stage": stage])
        }
        let modelSeconds = Self.modelStages.reduce(0.0) { $0 + (statistics.stageSeconds[$1] ?? 0) - (state.stages[$1] ?? 0) }
        state.stages = statistics.stageSeconds
        if statistics.windowsRun > state.windows {
            metrics.counter("referstream_windows_total", ["stream": work.stream]).increment(by: Int64(statistics.windowsRun - state.windows))
            state.windows = statistics.windowsRun
        }
        let publishCPU = Self.threadCPUSeconds()
        publish(masks, stream: work.stream, state: &state)
        if case .frame(let frame) = work.item {
            recordOverhead(stream: work.stream, frame: frame.index, receivedAt: frame.receivedAt, dequeued: dequeued,
                           idleSince: idleSince, modelSeconds: modelSeconds, engineSeconds: elapsed.seconds - modelSeconds,
                           publishCPUSeconds: Self.threadCPUSeconds() - publishCPU)
        }
        if case .end = work.item {
            engines.removeValue(forKey: work.stream)
        } else {
            engines[work.stream] = state
        }
    }

    /// `referstream_frame_overhead_seconds`: what the pipeline adds to a frame outside the model — the
    /// hand-off from arrival to the loop (only the part while the loop was free: waiting behind the
    /// model is not overhead, and frame age shows it), then everything the loop does for the frame
    /// but the model's stages (phrase actions, window bookkeeping, query linking, mask resizing and
    /// thresholding, encoding and publishing the masks, metrics). A frame that completes a window
    /// carries that window's post-processing for all of its frames. GStreamer's decoding and
    /// conversion run on its own threads, in parallel, and are not in it.
    private func recordOverhead(stream: String, frame: Int, receivedAt: ContinuousClock.Instant, dequeued: ContinuousClock.Instant,
                                idleSince: ContinuousClock.Instant, modelSeconds: Double, engineSeconds: Double, publishCPUSeconds: Double) {
        let handOff = max(dequeued - max(receivedAt, idleSince), .zero)
        let inLoop = (ContinuousClock.now - dequeued) - .nanoseconds(Int64(modelSeconds * 1e9))
        let overhead = max(handOff + inLoop, .zero)
        metrics.timer("referstream_frame_overhead_seconds", ["stream": stream]).recordNanoseconds(overhead.nanoseconds)
        if logger.logLevel <= .debug {
            // The parts: hand-off, the engine outside the model (linking, mask resizing), the rest
            // (phrase actions, handing the masks to the publisher, metrics), and the CPU time of
            // publishing on this thread (wall time minus it is waiting for a core).
            let (total, hand, engine) = (overhead.seconds * 1e3, handOff.seconds * 1e3, max(engineSeconds, 0) * 1e3)
            logger.with(stream: stream, frame: frame).debug("\(String(format: "frame overhead %.3f ms (hand-off %.3f ms, engine %.3f ms, publish %.3f ms, publish CPU %.3f ms), model %.3f s", total, hand, engine, total - hand - engine, publishCPUSeconds * 1e3, modelSeconds))")
        }
    }

    /// CPU time of the calling thread (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`), in seconds.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    private func publish(_ masks: [EngineMask], stream: String, state: inout EngineState) {
        guard hub.isCurrent(stream: stream, generation: state.generation) else { return }
        var agedFrames = Set<Int>()
        var newest = -1
        for m in masks {
            guard let info = state.frames[m.frameIndex] else { continue }
            newest = max(newest, m.frameIndex)
            let binary: BinaryMask
            do {
                binary = try BinaryMask(width: m.width, height: m.height, pixels: m.mask)
            } catch {
                logger.with(stream: stream, phrase: m.phraseID, frame: info.index).error("the engine gave a malformed mask: \(error)")
                continue
            }
            let box = m.box.map { [Double($0.x0), Double($0.y0), Double($0.x1 - $0.x0), Double($0.y1 - $0.y0)] }
            publisher(MaskFrame(
                stream: stream, phraseID: m.phraseID, phrase: m.text, trackID: m.trackID, frame: Int64(info.index),
                pts: info.pts.map(\.seconds), captureTime: info.captureTime.timeIntervalSince1970, score: Double(m.score),
                box: box, present: m.present, mask: binary))
            if agedFrames.insert(m.frameIndex).inserted {
                let age = ContinuousClock.now - info.receivedAt
                metrics.timer("referstream_frame_age_seconds", ["stream": stream]).recordNanoseconds(age.nanoseconds)
                if logger.logLevel <= .debug {
                    logger.with(stream: stream, frame: info.index).debug("masks published, frame age \(age)")
                }
            }
            let key = stream + "/" + m.phraseID
            if presence[key] != m.present {
                let was = presence[key]
                presence[key] = m.present
                if m.present || was == true {
                    hub.publisher.publish(EventMessage(
                        stream: stream, event: m.present ? .trackAcquired : .trackLost, time: Date().timeIntervalSince1970,
                        phraseID: m.phraseID, phrase: m.text, trackID: m.trackID))
                }
            }
        }
        metrics.counter("referstream_masks_offered_total", ["stream": stream]).increment(by: Int64(masks.count))
        // Frames up to the newest emitted one are done; older entries of frames that never got masks
        // (no phrases at the time) are let go after a few windows.
        let horizon = max(newest + 1, state.nextIndex - 8 * 64)
        if newest >= 0 || state.frames.count > 8 * 64 {
            state.frames = state.frames.filter { $0.key >= horizon }
        }
    }

    private func publisher(_ frame: MaskFrame) { hub.publisher.publish(frame) }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}
