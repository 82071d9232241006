import CGStreamer
import CGStreamerShims
import Foundation
import Synchronization

/// One pipeline instance of a source: built from the filled template, started, watched and torn down
/// by the source's supervisor thread. A reconnection builds a new one.
///
/// Ownership: owns the `Pipeline` (NULL and released in its deinit), one reference to the appsink and
/// one to the bus. The C callbacks (appsink `new_sample`, the caps probe) hold their own +1 reference
/// to the `ConnectionContext`, released by GStreamer's destroy notify when the element or pad goes.
final class Connection: @unchecked Sendable {
    // Safety: all properties are immutable after init; GStreamer's API is thread-safe for the calls
    // made on them (pull from the consumer thread, bus pop and state changes from the supervisor).
    let pipeline: Pipeline
    let sink: Element
    let context: ConnectionContext
    private let bus: UnsafeMutablePointer<GstBus>

    init(description: String, number: Int, core: SourceCore) throws(IngestError) {
        let pipeline = try Pipeline(description: description)
        let name = SourceConfiguration.sinkName
        guard let sink = pipeline.element(named: name), let appsink = rs_gst_app_sink_cast(sink.pointer) else {
            throw IngestError(.missingElement, "the pipeline has no appsink named '\(name)'; a template must end with {output}")
        }
        guard let bus = gst_element_get_bus(pipeline.element) else {
            throw IngestError(.missingElement, "the pipeline has no bus")
        }
        let sizeFilter = pipeline.element(named: SourceConfiguration.sizeFilterName)
        let context = ConnectionContext(core: core, number: number, sizeFilter: sizeFilter)
        self.pipeline = pipeline
        self.sink = sink
        self.context = context
        self.bus = bus

        var callbacks = GstAppSinkCallbacks()
        if core.configuration.isLive {
            callbacks.new_sample = { appsink, userData in
                guard let appsink, let userData else { return GST_FLOW_OK }
                let context = Unmanaged<ConnectionContext>.fromOpaque(userData).takeUnretainedValue()
                // A sample is queued (that is what new_sample says), so this returns at once; the
                // zero timeout guarantees it even if it were not.
                guard let sample = gst_app_sink_try_pull_sample(appsink, 0) else { return GST_FLOW_OK }
                defer { gst_sample_unref(sample) }
                context.deliverLive(sample, from: appsink)
                return GST_FLOW_OK
            }
        } else {
            // Backpressure mode: the consumer pulls; the callback only notes that frames flow (for the
            // `live` event and the first-frame watchdog) and leaves the sample queued.
            callbacks.new_sample = { appsink, userData in
                guard let appsink, let userData else { return GST_FLOW_OK }
                Unmanaged<ConnectionContext>.fromOpaque(userData).takeUnretainedValue().noteArrival(from: appsink)
                return GST_FLOW_OK
            }
        }
        callbacks.eos = { _, userData in
            guard let userData else { return }
            Unmanaged<ConnectionContext>.fromOpaque(userData).takeUnretainedValue().noteEndOfStream()
        }
        gst_app_sink_set_callbacks(
            appsink, &callbacks, Unmanaged.passRetained(context).toOpaque(),
            { userData in if let userData { Unmanaged<ConnectionContext>.fromOpaque(userData).release() } })

        if sizeFilter != nil, let scale = pipeline.element(named: SourceConfiguration.scaleName),
            let pad = gst_element_get_static_pad(scale.pointer, "sink")
        {
            defer { gst_object_unref(pad) }
            gst_pad_add_probe(
                pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                { _, info, userData in
                    guard let info, let userData, let event = rs_gst_pad_probe_info_event(info),
                        rs_gst_event_type(event) == GST_EVENT_CAPS
                    else { return GST_PAD_PROBE_OK }
                    var caps: UnsafeMutablePointer<GstCaps>?
                    gst_event_parse_caps(event, &caps)
                    if let caps {
                        Unmanaged<ConnectionContext>.fromOpaque(userData).takeUnretainedValue().inputCapsChanged(caps)
                    }
                    return GST_PAD_PROBE_OK
                },
                Unmanaged.passRetained(context).toOpaque(),
                { userData in if let userData { Unmanaged<ConnectionContext>.fromOpaque(userData).release() } })
        }
    }

    deinit {
        pipeline.stop()
        gst_object_unref(UnsafeMutableRawPointer(bus))
    }

    /// Takes the next bus message of interest, waiting up to `timeout` (nil: until one comes);
    /// `gst_bus_timed_pop_filtered`. The caller owns the returned message.
    func popMessage(timeout: Duration?) -> UnsafeMutablePointer<GstMessage>? {
        let mask = GST_MESSAGE_ERROR.rawValue | GST_MESSAGE_EOS.rawValue | GST_MESSAGE_WARNING.rawValue
            | GST_MESSAGE_APPLICATION.rawValue | GST_MESSAGE_ELEMENT.rawValue
        let wait = timeout.map { GstClockTime(SourceConfiguration.nanoseconds($0)) } ?? rs_gst_clock_time_none()
        return gst_bus_timed_pop_filtered(bus, wait, GstMessageType(rawValue: mask))
    }

    /// Posts an application message named `name` on the bus (`gst_bus_post`), waking the supervisor.
    func post(_ name: String) {
        let message = gst_message_new_application(nil, gst_structure_new_empty(name))
        _ = gst_bus_post(bus, message)
    }
}

/// What the C callbacks of one connection reach: the source's shared state and this connection's
/// caps-derived sizes.
///
/// It must not own the appsink: the appsink owns it (through its callbacks), and a reference back
/// would keep both alive after the pipeline is released. The callbacks pass the appsink in instead.
final class ConnectionContext: Sendable {
    let core: SourceCore
    let number: Int
    let sizeFilter: Element?
    private let sizes = Mutex<(original: FrameSize?, reachedEndOfStream: Bool)>((nil, false))

    init(core: SourceCore, number: Int, sizeFilter: Element?) {
        self.core = core
        self.number = number
        self.sizeFilter = sizeFilter
    }

    var originalSize: FrameSize? { sizes.withLock { $0.original } }

    /// Whether the appsink received end-of-stream (its `eos` callback). Unlike
    /// `gst_app_sink_is_eos`, this is not also true before the sink has started.
    var endOfStreamReached: Bool { sizes.withLock { $0.reachedEndOfStream } }

    func noteEndOfStream() {
        sizes.withLock { $0.reachedEndOfStream = true }
        core.wakeConsumer()
    }

    /// Caps probe on the scaler's input: records the decoded size and sets the size filter to the
    /// exact torchvision size before the scaler negotiates (this runs before the caps event reaches it).
    func inputCapsChanged(_ caps: UnsafeMutablePointer<GstCaps>) {
        var info = GstVideoInfo()
        guard gst_video_info_from_caps(&info, caps) != 0 else { return }
        let size = FrameSize(width: Int(info.width), height: Int(info.height))
        sizes.withLock { $0.original = size }
        guard let sizeFilter else { return }
        let target = core.configuration.output.targetSize(for: size)
        guard let filter = gst_caps_from_string("video/x-raw,width=\(target.width),height=\(target.height)") else { return }
        rs_g_object_set_caps(sizeFilter.pointer, "caps", filter)
        gst_caps_unref(filter)
    }

    /// Converts a sample (copying its pixels) into a frame stamped with index, times and sizes.
    func frame(from sample: OpaquePointer) throws(IngestError) -> VideoFrame {
        let rgb = try AppSinkReader.frame(from: sample)
        let original = originalSize ?? FrameSize(width: rgb.width, height: rgb.height)
        return VideoFrame(
            pixels: rgb.pixels, width: rgb.width, height: rgb.height,
            originalWidth: original.width, originalHeight: original.height,
            presentationTime: rgb.pts.map { .nanoseconds(Int64(bitPattern: $0)) },
            index: core.takeFrameIndex(), connection: number,
            captureTime: Date(), receivedAt: .now)
    }

    /// Live path, on a GStreamer streaming thread: never blocks (the queue drops the oldest frame).
    func deliverLive(_ sample: OpaquePointer, from appsink: UnsafeMutablePointer<GstAppSink>) {
        guard let frame = try? frame(from: sample) else {
            core.countBadSample()
            return
        }
        core.queue?.push(frame)
        noteArrival(from: appsink)
    }

    /// Records that a frame arrived; the first one of the connection tells the supervisor, with an
    /// application message posted by the appsink (the streaming thread only enqueues a message).
    func noteArrival(from appsink: UnsafeMutablePointer<GstAppSink>) {
        guard core.noteFrame(connection: number),
            let element = rs_gst_element_cast(UnsafeMutableRawPointer(appsink)),
            let object = rs_gst_object_cast(UnsafeMutableRawPointer(appsink))
        else { return }
        let message = gst_message_new_application(object, gst_structure_new_empty(SourceCore.liveNotice))
        _ = gst_element_post_message(element, message)
    }
}
