import CGStreamer
import Foundation

/// Where frames come from and how they are delivered.
///
/// Each kind fills the matching template of `pipelines/` (or a template given explicitly); the output
/// chain (`OutputFormat`, the project's appsink) is always appended by ReferStream.
public struct SourceConfiguration: Sendable, Equatable {
    /// The kind of source and its own settings.
    public enum Input: Sendable, Equatable {
        case file(File)
        case rtsp(RTSP)
        case v4l2(Camera)
        case test(TestPattern)
        case custom(Custom)
    }

    /// A video file (template `file`).
    public struct File: Sendable, Equatable {
        /// A path (relative paths are resolved against the working directory) or a `file://` URI.
        public var path: String
        /// Pace frames at their timestamps like a live source (appsink syncs to the clock, frames go
        /// through the drop-oldest queue). Off by default: the file is read as fast as frames are
        /// consumed, with backpressure and no drops.
        public var realtime: Bool
        public init(path: String, realtime: Bool = false) {
            self.path = path
            self.realtime = realtime
        }
    }

    /// An RTSP stream (template `rtsp`).
    public struct RTSP: Sendable, Equatable {
        public enum Transport: String, Sendable, Equatable, CaseIterable {
            case tcp, udp
            /// Let rtspsrc try UDP (unicast, multicast) and fall back to TCP.
            case any
        }
        public var url: String
        /// Jitterbuffer latency (rtspsrc `latency`, milliseconds).
        public var latency: Duration
        public var transport: Transport
        /// rtspsrc `tcp-timeout` and UDP-to-TCP fallback `timeout`.
        public var timeout: Duration
        public var username: String?
        public var password: String?
        public init(
            url: String, latency: Duration = .milliseconds(200), transport: Transport = .tcp,
            timeout: Duration = .seconds(5), username: String? = nil, password: String? = nil
        ) {
            self.url = url
            self.latency = latency
            self.transport = transport
            self.timeout = timeout
            self.username = username
            self.password = password
        }
    }

    /// A V4L2 camera (template `v4l2`).
    public struct Camera: Sendable, Equatable {
        /// The camera mode's pixel format.
        public enum Format: Sendable, Equatable {
            /// Whatever the camera offers, raw or MJPEG (the first mode that fits the other settings).
            case any
            /// Raw frames, optionally of one GStreamer format (`YUY2`, `NV12`, ...).
            case raw(String?)
            /// MJPEG frames (decoded by jpegdec through decodebin).
            case mjpeg
        }
        public var device: String
        public var format: Format
        public var width: Int?
        public var height: Int?
        public var framerate: Int?
        public init(device: String = "/dev/video0", format: Format = .any, width: Int? = nil, height: Int? = nil, framerate: Int? = nil) {
            self.device = device
            self.format = format
            self.width = width
            self.height = height
            self.framerate = framerate
        }
    }

    /// A synthetic videotestsrc source (template `test`).
    public struct TestPattern: Sendable, Equatable {
        public var pattern: String
        /// Produce frames against the clock like a camera (drop-oldest queue, stall detection).
        public var live: Bool
        /// Frames before end-of-stream; nil for endless.
        public var frameCount: Int?
        public var width: Int
        public var height: Int
        public var framerate: Int
        public init(pattern: String = "smpte", live: Bool = false, frameCount: Int? = nil, width: Int = 640, height: Int = 360, framerate: Int = 25) {
            self.pattern = pattern
            self.live = live
            self.frameCount = frameCount
            self.width = width
            self.height = height
            self.framerate = framerate
        }
    }

    /// A user pipeline description producing raw video (template `custom`).
    public struct Custom: Sendable, Equatable {
        public var description: String
        /// Treat it as a live source (drop-oldest queue, stall detection and reconnection).
        public var live: Bool
        public init(description: String, live: Bool) {
            self.description = description
            self.live = live
        }
    }

    /// When and how a live source reconnects.
    ///
    /// The defaults (0.5 s, doubling, capped at 2 s) bound the time from a server's return to the first
    /// frame by the cap plus one connection (RTSP handshake and first key frame), whatever the outage
    /// length: a camera back after an hour resumes as fast as one back after a second. An attempt on a
    /// server that is still down costs one refused TCP connection. Raise `maxDelay` only where that
    /// resumption time does not matter.
    public struct ReconnectPolicy: Sendable, Equatable {
        /// Delay before the first reconnection attempt; doubled after each failed attempt.
        public var initialDelay: Duration
        /// Upper bound of the delay: the longest a returned server waits for the next attempt.
        public var maxDelay: Duration
        /// Attempts after a failure before the source gives up; nil: unlimited. 0: never reconnect.
        public var maxAttempts: Int?
        public init(initialDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(2), maxAttempts: Int? = nil) {
            self.initialDelay = initialDelay
            self.maxDelay = maxDelay
            self.maxAttempts = maxAttempts
        }

        /// The delay before attempt `attempt` (1-based): `initialDelay * 2^(attempt-1)`, capped.
        public func delay(beforeAttempt attempt: Int) -> Duration {
            var delay = initialDelay
            for _ in 1..<max(attempt, 1) {
                delay = delay * 2
                if delay >= maxDelay { return maxDelay }
            }
            return min(delay, maxDelay)
        }
    }

    /// How GStreamer scales to `OutputFormat.scaled`.
    public enum Scaling: String, Sendable, Equatable, CaseIterable {
        /// Convert to RGB at the decoded size, then scale with the multi-tap (antialiased) bilinear
        /// filter, as Pillow's BILINEAR resize does in the official pre-processing (close to it:
        /// see the parity test). The default.
        case accurate
        /// Scale in the decoded format (I420 for most video) before converting: about 2-3x cheaper on
        /// large inputs, with the same filter but chroma scaled at half resolution.
        case fast
    }

    public var input: Input
    public var output: OutputFormat
    public var scaling: Scaling
    /// Capacity of the drop-oldest queue of live sources (frames).
    public var liveQueueCapacity: Int
    /// Frames the appsink holds for non-live sources before GStreamer blocks the decoder.
    public var bufferedFrames: Int
    /// A live source that delivered frames and then none for this long is stalled and reconnected.
    public var stallTimeout: Duration
    /// A source that delivers no first frame within this long after starting is reconnected (live)
    /// or fails with `.timeout` (files, non-live test patterns and custom pipelines).
    public var connectTimeout: Duration
    public var reconnect: ReconnectPolicy
    /// A template to use instead of the built-in one for this kind (e.g. read from a `pipelines/` folder).
    public var template: PipelineTemplate?

    public init(
        _ input: Input, output: OutputFormat = .modelInput, scaling: Scaling = .accurate,
        liveQueueCapacity: Int = 4, bufferedFrames: Int = 4,
        stallTimeout: Duration = .seconds(3), connectTimeout: Duration = .seconds(10),
        reconnect: ReconnectPolicy = ReconnectPolicy(), template: PipelineTemplate? = nil
    ) {
        self.input = input
        self.output = output
        self.scaling = scaling
        self.liveQueueCapacity = liveQueueCapacity
        self.bufferedFrames = bufferedFrames
        self.stallTimeout = stallTimeout
        self.connectTimeout = connectTimeout
        self.reconnect = reconnect
        self.template = template
    }

    /// The template kind name (`file`, `rtsp`, `v4l2`, `test`, `custom`).
    public var kind: String {
        switch input {
        case .file: "file"
        case .rtsp: "rtsp"
        case .v4l2: "v4l2"
        case .test: "test"
        case .custom: "custom"
        }
    }

    /// Whether frames go through the drop-oldest queue (cameras, RTSP, live test patterns, realtime
    /// files) rather than GStreamer backpressure.
    public var isLive: Bool {
        switch input {
        case .file(let file): file.realtime
        case .rtsp, .v4l2: true
        case .test(let test): test.live
        case .custom(let custom): custom.live
        }
    }

    /// Whether a lost stream is rebuilt (stall detection and reconnection): live inputs other than files.
    var reconnects: Bool {
        switch input {
        case .file: false
        default: isLive
        }
    }

    /// Whether end-of-stream means the connection was lost (a camera or RTSP server never ends).
    var endOfStreamIsLoss: Bool {
        switch input {
        case .rtsp, .v4l2: true
        default: false
        }
    }

    /// Short text naming the input, for messages.
    public var inputDescription: String {
        switch input {
        case .file(let file): "file '\(file.path)'"
        case .rtsp(let rtsp): "RTSP stream '\(Self.redacted(rtsp.url))'"
        case .v4l2(let camera): "camera '\(camera.device)'"
        case .test(let test): "test pattern '\(test.pattern)'"
        case .custom: "custom pipeline"
        }
    }

    /// The name of the appsink ReferStream reads from; templates must not use it.
    static let sinkName = "referstream_sink"
    static let scaleName = "referstream_scale"
    static let sizeFilterName = "referstream_size"

    /// The full pipeline description: the template filled with this configuration's values.
    /// - Throws: `.configuration` for unusable values, `.template` when the template's placeholders
    ///   do not match this kind's parameters.
    public func pipelineDescription() throws(IngestError) -> String {
        let template: PipelineTemplate
        if let custom = self.template {
            template = custom
        } else {
            template = try PipelineTemplate.builtin(kind)
        }
        var values = try parameters()
        values["output"] = .verbatim(try outputChain())
        return try template.fill(values)
    }

    func outputChain() throws(IngestError) -> String {
        guard liveQueueCapacity >= 1, bufferedFrames >= 1 else {
            throw IngestError(.configuration, "queue sizes must be at least 1 (live_queue_capacity \(liveQueueCapacity), buffered_frames \(bufferedFrames))")
        }
        let convert = "videoconvert ! video/x-raw,format=RGB ! "
        var chain = ""
        if case .scaled(let side) = output {
            guard side > 0 else { throw IngestError(.configuration, "the output's shorter side must be positive, not \(side)") }
            // The multi-tap (antialiased) bilinear filter is what Pillow's BILINEAR resize does;
            // measured against the official T.Resize(360) output it is ~50x closer than videoscale's
            // default 2-tap bilinear on a 2x downscale (see VideoIngestTests "GStreamer scaling
            // against Pillow"). The size filter starts open; a caps probe sets the exact torchvision
            // size once the decoded size is known.
            let scale = "videoscale name=\(Self.scaleName) method=bilinear2 add-borders=false ! capsfilter name=\(Self.sizeFilterName) caps=video/x-raw ! "
            chain = scaling == .accurate ? convert + scale : scale + convert
        } else {
            chain = convert
        }
        chain += "appsink name=\(Self.sinkName) enable-last-sample=false "
        if isLive {
            // Frames are taken by the new-sample callback at once; max-buffers/drop only guard the
            // streaming thread against ever blocking here. A realtime file syncs to the clock.
            let sync = if case .file = input { "true" } else { "false" }
            chain += "emit-signals=false sync=\(sync) max-buffers=2 drop=true"
        } else {
            // Backpressure: when the consumer is behind, the appsink queue fills and GStreamer blocks
            // the decoder's streaming thread; nothing is dropped and nothing grows.
            chain += "emit-signals=false sync=false max-buffers=\(bufferedFrames) drop=false"
        }
        return chain
    }

    func parameters() throws(IngestError) -> [String: TemplateValue] {
        switch input {
        case .file(let file):
            return ["uri": .string(try Self.fileURI(file.path))]
        case .rtsp(let rtsp):
            guard rtsp.url.hasPrefix("rtsp://") || rtsp.url.hasPrefix("rtsps://") || rtsp.url.hasPrefix("rtspt://") else {
                throw IngestError(.configuration, "'\(Self.redacted(rtsp.url))' is not an RTSP URL; it must start with rtsp://")
            }
            let protocols = switch rtsp.transport {
            case .tcp: "tcp"
            case .udp: "udp"
            case .any: "tcp+udp-mcast+udp"
            }
            return [
                "location": .string(rtsp.url),
                "latency": .integer(try Self.nonNegative(Self.milliseconds(rtsp.latency), "latency")),
                "protocols": .token(protocols),
                "timeout": .integer(try Self.nonNegative(Self.microseconds(rtsp.timeout), "timeout")),
                "user_id": .string(rtsp.username ?? ""),
                "user_pw": .string(rtsp.password ?? ""),
            ]
        case .v4l2(let camera):
            guard !camera.device.isEmpty else { throw IngestError(.configuration, "the camera device path is empty") }
            var fields = ""
            if let width = camera.width { fields += ",width=\(try Self.positive(width, "width"))" }
            if let height = camera.height { fields += ",height=\(try Self.positive(height, "height"))" }
            if let rate = camera.framerate { fields += ",framerate=\(try Self.positive(rate, "framerate"))/1" }
            let caps: String
            switch camera.format {
            case .any:
                caps = "video/x-raw\(fields);image/jpeg\(fields)"
            case .mjpeg:
                caps = "image/jpeg\(fields)"
            case .raw(let format):
                if let format {
                    _ = try TemplateValue.token(format).rendered()
                    caps = "video/x-raw,format=\(format)\(fields)"
                } else {
                    caps = "video/x-raw\(fields)"
                }
            }
            return ["device": .string(camera.device), "caps": .string(caps)]
        case .test(let test):
            return [
                "pattern": .token(test.pattern),
                "live": .boolean(test.live),
                "num_buffers": .integer(try test.frameCount.map { n throws(IngestError) in try Self.positive(n, "frame count") } ?? -1),
                "width": .integer(try Self.positive(test.width, "width")),
                "height": .integer(try Self.positive(test.height, "height")),
                "framerate": .fraction(try Self.positive(test.framerate, "framerate"), 1),
            ]
        case .custom(let custom):
            if custom.description.contains(Self.sinkName) {
                throw IngestError(.configuration, "a custom pipeline must not contain '\(Self.sinkName)': ReferStream appends its own appsink")
            }
            return ["pipeline": .verbatim(custom.description)]
        }
    }

    /// A `file://` URI for a path (`gst_filename_to_uri`: absolute, percent-encoded); URIs pass through.
    static func fileURI(_ path: String) throws(IngestError) -> String {
        guard !path.isEmpty else { throw IngestError(.configuration, "the file path is empty") }
        if path.contains("://") { return path }
        var error: UnsafeMutablePointer<GError>?
        guard let uri = gst_filename_to_uri(path, &error) else {
            throw IngestError.consuming(error, code: .configuration, message: "'\(path)' cannot be turned into a file URI")
        }
        defer { g_free(uri) }
        return String(cString: uri)
    }

    /// The URL with any `user:password@` removed, for messages and logs.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        if let slash = url[scheme.upperBound...].firstIndex(of: "/"), slash < at { return url }
        return String(url[..<scheme.upperBound]) + "***@" + String(url[url.index(after: at)...])
    }

    private static func positive(_ value: Int, _ name: String) throws(IngestError) -> Int {
        guard value > 0 else { throw IngestError(.configuration, "\(name) must be positive, not \(value)") }
        return value
    }
    private static func nonNegative(_ value: Int, _ name: String) throws(IngestError) -> Int {
        guard value >= 0 else { throw IngestError(.configuration, "\(name) must not be negative") }
        return value
    }
    static func milliseconds(_ d: Duration) -> Int {
        Int(d.components.seconds) * 1000 + Int(d.components.attoseconds / 1_000_000_000_000_000)
    }
    static func microseconds(_ d: Duration) -> Int {
        Int(d.components.seconds) * 1_000_000 + Int(d.components.attoseconds / 1_000_000_000_000)
    }
    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        guard s >= 0, atto >= 0 else { return 0 }
        return UInt64(s) * 1_000_000_000 + UInt64(atto / 1_000_000_000)
    }
}

extension PipelineTemplate {
    /// The built-in template for a kind (`file`, `rtsp`, `v4l2`, `test`, `custom`): the text of
    /// `pipelines/<kind>.pipeline`.
    /// - Throws: `.template` for an unknown kind.
    public static func builtin(_ kind: String) throws(IngestError) -> PipelineTemplate {
        guard let text = builtinText[kind] else {
            throw IngestError(.template, "there is no built-in pipeline template '\(kind)'; the kinds are \(builtinText.keys.sorted().joined(separator: ", "))")
        }
        return try PipelineTemplate(name: kind, text: text)
    }

    /// The kinds that have a built-in template.
    public static var builtinKinds: [String] { builtinText.keys.sorted() }
}
