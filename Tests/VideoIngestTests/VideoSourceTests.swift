import Foundation
import Testing
@testable import VideoIngest

@Suite("VideoSource with videotestsrc")
struct VideoSourceTests {
    @Test("a non-live test pattern gives exactly N frames at the model size, increasing PTS, then EOS")
    func exactFrames() throws {
        let n = 12
        let log = EventLog()
        let source = try VideoSource(
            SourceConfiguration(.test(.init(pattern: "smpte", frameCount: n, width: 1280, height: 720, framerate: 25))),
            name: "test", onEvent: log.handler)
        try source.start()
        let frames = try TestSupport.drain(source)
        #expect(frames.count == n)
        for (i, frame) in frames.enumerated() {
            #expect(frame.size == FrameSize(width: 640, height: 360), "frame \(i): \(frame.size)")
            #expect(frame.originalSize == FrameSize(width: 1280, height: 720), "frame \(i): \(frame.originalSize)")
            #expect(frame.pixels.count == 640 * 360 * 3)
            #expect(frame.index == i && frame.connection == 1)
            #expect(frame.presentationTime == .milliseconds(40 * i), "frame \(i): \(String(describing: frame.presentationTime))")
        }
        #expect(log.wait(timeout: .seconds(5)) { $0 == .endOfStream } != nil, "\(log.names)")
        source.stop()
        #expect(log.names == ["connecting", "live", "eos"], "\(log.names)")
        let stats = source.statistics
        #expect(stats.received == n && stats.delivered == n && stats.dropped == 0, "\(stats)")
        // After the end, next keeps saying so.
        #expect(try { if case .endOfStream = try source.next(timeout: .milliseconds(10)) { true } else { false } }())
    }

    @Test("the events AsyncStream carries the same events as the handler and finishes with the source")
    func eventStream() async throws {
        let log = EventLog()
        let source = try VideoSource(SourceConfiguration(.test(.init(frameCount: 2, width: 64, height: 48))), name: "stream", onEvent: log.handler)
        #expect(source.name == "stream")
        try source.start()
        #expect(try TestSupport.drain(source).count == 2)
        var names: [String] = []
        for await event in source.events { names.append(event.name) }
        #expect(names == ["connecting", "live", "eos"], "\(names)")
        #expect(names == log.names)
    }

    @Test("original mode delivers the decoded size; scaled mode handles odd and portrait sizes",
          arguments: [(321, 241, OutputFormat.modelInput, 479, 360),
                      (360, 640, OutputFormat.modelInput, 360, 640),
                      (853, 479, OutputFormat.original, 853, 479),
                      (854, 480, OutputFormat.scaled(shorterSide: 240), 427, 240)])
    func sizes(width: Int, height: Int, output: OutputFormat, expectedWidth: Int, expectedHeight: Int) throws {
        for scaling in SourceConfiguration.Scaling.allCases {
            let source = try VideoSource(SourceConfiguration(
                .test(.init(pattern: "ball", frameCount: 3, width: width, height: height)), output: output, scaling: scaling))
            try source.start()
            let frames = try TestSupport.drain(source)
            #expect(frames.count == 3)
            for frame in frames {
                #expect(frame.size == FrameSize(width: expectedWidth, height: expectedHeight), "\(scaling): \(width)x\(height) → \(frame.size)")
                #expect(frame.originalSize == FrameSize(width: width, height: height))
                #expect(frame.pixels.count == expectedWidth * expectedHeight * 3)
            }
        }
    }

    @Test("a solid colour survives scaling and conversion to RGB")
    func colour() throws {
        let source = try VideoSource(SourceConfiguration(
            .custom(.init(description: "videotestsrc num-buffers=2 pattern=solid-color foreground-color=0xff3366cc ! video/x-raw,width=800,height=600", live: false))))
        try source.start()
        let frames = try TestSupport.drain(source)
        #expect(frames.count == 2)
        for frame in frames {
            #expect(frame.size == FrameSize(width: 480, height: 360))
            // Converted to RGB, then scaled: allow rounding.
            let mid = (frame.height / 2 * frame.width + frame.width / 2) * 3
            let pixel = Array(frame.pixels[mid..<mid + 3]).map(Int.init)
            #expect(zip(pixel, [0x33, 0x66, 0xcc]).allSatisfy { abs($0 - $1) <= 2 }, "\(pixel)")
        }
    }

    @Test("a slow consumer on a live source: the queue stays bounded, the oldest frames are dropped and counted")
    func slowConsumer() throws {
        let capacity = 3
        let log = EventLog()
        let source = try VideoSource(
            SourceConfiguration(.test(.init(pattern: "ball", live: true, width: 160, height: 120, framerate: 100)),
                                liveQueueCapacity: capacity),
            name: "slow", onEvent: log.handler)
        try source.start()
        #expect(log.wait(timeout: .seconds(5)) { $0 == .live } != nil, "\(log.names)")
        // Stop reading while frames keep coming (100 fps), then look at the queue.
        let before = source.statistics
        Thread.sleep(forTimeInterval: 1.5)
        let during = source.statistics
        #expect(during.queued <= capacity && during.queueHighWater <= capacity, "\(during)")
        #expect(during.received > before.received + capacity, "frames kept arriving: \(before) → \(during)")
        #expect(during.dropped > 0, "\(during)")
        #expect(during.received == during.delivered + during.dropped + during.queued, "\(during)")
        // What is read next are the newest frames: their indices jump over the dropped ones.
        var indices: [Int] = []
        var ages: [Duration] = []
        for _ in 0..<capacity {
            if case .frame(let frame) = try source.next(timeout: .seconds(2)) {
                indices.append(frame.index)
                ages.append(frame.age)
            }
        }
        #expect(indices.count == capacity && indices.first! >= during.dropped, "indices \(indices), \(during)")
        source.stop()
        let after = source.statistics
        print("slow consumer: capacity \(capacity), \(after.received) received, \(after.dropped) dropped, ages of the first frames read \(ages)")
        #expect(log.names.last == "stopped", "\(log.names)")
    }

    @Test("a live source that goes quiet without error or EOS is stalled by the timer, rebuilt, and live again")
    func stallTimer() throws {
        // One frame every 5 s: the first comes at once, then nothing for longer than the stall timeout.
        let log = EventLog()
        let source = try VideoSource(
            SourceConfiguration(
                .custom(.init(description: "videotestsrc is-live=true pattern=ball ! video/x-raw,width=64,height=48,framerate=1/5", live: true)),
                stallTimeout: .milliseconds(500), connectTimeout: .seconds(3),
                reconnect: .init(initialDelay: .milliseconds(100), maxDelay: .milliseconds(200))),
            name: "quiet", onEvent: log.handler)
        try source.start()
        defer { source.stop() }
        var connections: [Int] = []
        while connections.count < 2, case .frame(let frame) = try source.next(timeout: .seconds(10)) {
            connections.append(frame.connection)
        }
        #expect(connections == [1, 2], "\(connections); events \(log.names)")
        // `live` travels over the bus to the supervisor, so it may trail the first frame slightly.
        #expect(log.wait(from: 5, timeout: .seconds(5)) { $0 == .live } != nil, "\(log.names)")
        #expect(Array(log.names.prefix(6)) == ["connecting", "live", "stalled", "reconnecting", "connecting", "live"], "\(log.names)")
        if case .stalled(let cause)? = log.all.first(where: { $0.name == "stalled" }) {
            #expect(cause.code == .timeout, "\(cause)")
        }
        if case .reconnecting(let attempt, let delay, _)? = log.all.first(where: { $0.name == "reconnecting" }) {
            #expect(attempt == 1 && delay == .milliseconds(100), "\(attempt) \(delay)")
        }
    }

    @Test("two sources run at once; one failing does not disturb the other")
    func independentSources() throws {
        let good = try VideoSource(SourceConfiguration(.test(.init(pattern: "ball", live: true, width: 160, height: 120, framerate: 50))), name: "good")
        let bad = try VideoSource(SourceConfiguration(.file(.init(path: "/nonexistent/referstream/clip.mp4"))), name: "bad")
        try good.start()
        try bad.start()
        let error = TestSupport.terminalError(bad, timeout: .seconds(10))
        #expect(error?.code == .notFound, "\(String(describing: error))")
        var received = 0
        for _ in 0..<20 {
            if case .frame = try good.next(timeout: .seconds(2)) { received += 1 }
        }
        #expect(received == 20)
        #expect(good.state == .live, "\(String(describing: good.state))")
        good.stop()
    }

    @Test("after stop, nothing of a source stays alive (pipelines, callbacks, queue)", arguments: [false, true])
    func released(live: Bool) throws {
        weak var core: SourceCore?
        do {
            let source = try VideoSource(SourceConfiguration(.test(.init(live: live, frameCount: live ? nil : 5, width: 64, height: 48, framerate: 50))))
            core = source.core
            try source.start()
            for _ in 0..<5 { _ = try source.next(timeout: .seconds(5)) }
            source.stop()
        }
        #expect(core == nil, "the source's state outlived it (a reference cycle through the appsink callbacks?)")
    }

    @Test("stop releases a running source and a waiting consumer gets end-of-stream; stop is idempotent")
    func stopWhileReading() throws {
        let source = try VideoSource(SourceConfiguration(.test(.init(live: true, width: 64, height: 48, framerate: 5))))
        try source.start()
        let done = NSCondition()
        nonisolated(unsafe) var result: String?
        let reader = Thread {
            var last = "none"
            while true {
                guard let next = try? source.next(timeout: .seconds(10)) else { last = "error"; break }
                if case .endOfStream = next { last = "eos"; break }
                if case .timedOut = next { last = "timeout"; break }
            }
            done.withLock { result = last; done.signal() }
        }
        reader.start()
        Thread.sleep(forTimeInterval: 0.3)
        source.stop()
        source.stop()
        done.lock()
        while result == nil { _ = done.wait(until: Date(timeIntervalSinceNow: 10)); if result == nil { break } }
        let value = result
        done.unlock()
        #expect(value == "eos")
    }
}

@Suite("The end is announced before next reports it")
struct EndOrderingTests {
    @Test("a finite non-live source: when next returns end-of-stream, the eos event is already out", arguments: 0..<5)
    func endOfStream(run: Int) throws {
        let log = EventLog()
        let source = try VideoSource(SourceConfiguration(.test(.init(live: false, frameCount: 3, width: 64, height: 48))), onEvent: log.handler)
        try source.start()
        let frames = try TestSupport.drain(source)
        let seen = log.names  // before stop(), which would wait for the supervisor
        source.stop()
        #expect(frames.count == 3)
        #expect(seen.last == "eos", "run \(run): next reported the end with events \(seen)")
    }

    @Test("a file that does not exist: when next throws, the failed event is already out", arguments: 0..<5)
    func failure(run: Int) throws {
        let log = EventLog()
        let source = try VideoSource(SourceConfiguration(.file(.init(path: "/nonexistent/clip-\(run).mp4"))), onEvent: log.handler)
        try source.start()
        let error = TestSupport.terminalError(source)
        let seen = log.names
        source.stop()
        #expect(error?.code == .notFound)
        #expect(seen.last == "failed", "run \(run): next threw with events \(seen)")
        // GStreamer's text and the hint are separate sentences.
        #expect(error.map { !$0.message.contains("found Check") } ?? false, "\(String(describing: error))")
    }

    @Test("GStreamer's text and a hint are joined as sentences")
    func sentences() {
        #expect(IngestError.joinSentences("rtsp: Not found", "Check that it exists.") == "rtsp: Not found. Check that it exists.")
        #expect(IngestError.joinSentences("file: Resource not found.", "Check that it exists.") == "file: Resource not found. Check that it exists.")
        #expect(IngestError.joinSentences("x: Is it there? ", "Check.") == "x: Is it there? Check.")
        #expect(IngestError.joinSentences("x: no hint", "") == "x: no hint")
    }
}
