import CGStreamer
import CGStreamerShims

/// A GStreamer pipeline built from a `gst-launch`-style description.
///
/// Owns one reference to the pipeline element (from `gst_parse_launch`, sunk); `deinit` sets it to
/// NULL and releases it, so every pipeline is torn down however its owner goes away.
///
/// Thread-safety: GStreamer's element API is thread-safe; the methods here may be called from any
/// thread, but a pipeline is meant to be driven by one owner.
public final class Pipeline: @unchecked Sendable {
    // Safety: `element` is set once in init and only released in deinit; GStreamer's own locking
    // protects every call made on it.
    let element: UnsafeMutablePointer<GstElement>
    public let description: String

    /// Parses `description` (`gst_parse_launch`).
    /// - Throws: `IngestError.Code.pipelineParse` with GStreamer's message when it does not parse or
    ///   names an element that is not installed.
    public init(description: String) throws(IngestError) {
        GStreamer.initialize()
        var error: UnsafeMutablePointer<GError>?
        let parsed = gst_parse_launch(description, &error)
        if let error {
            // gst_parse_launch may return a partial pipeline together with an error: drop both.
            if let parsed { gst_object_unref(parsed) }
            throw IngestError.consuming(
                error, code: .pipelineParse,
                message: "the pipeline description does not parse; check element names and properties with gst-inspect-1.0")
        }
        guard let parsed else {
            throw IngestError(.pipelineParse, "the pipeline description produced no pipeline")
        }
        // gst_parse_launch returns a floating reference; take ownership of it.
        _ = gst_object_ref_sink(parsed)
        self.element = parsed
        self.description = description
    }

    deinit {
        gst_element_set_state(element, GST_STATE_NULL)
        gst_object_unref(element)
    }

    /// The element named `name` inside the pipeline (`gst_bin_get_by_name`), as a new reference
    /// owned by the returned `Element`.
    public func element(named name: String) -> Element? {
        guard let bin = rs_gst_bin_cast(element), let found = gst_bin_get_by_name(bin, name) else { return nil }
        return Element(owning: found)
    }

    /// Starts the pipeline (`gst_element_set_state(PLAYING)`).
    public func play() throws(IngestError) { try setState(GST_STATE_PLAYING, "PLAYING") }

    /// `play()` with errors worded for `input` (e.g. "file '/x.mp4'").
    func play(input: String) throws(IngestError) { try setState(GST_STATE_PLAYING, "PLAYING", input: input) }

    /// Pauses the pipeline (`gst_element_set_state(PAUSED)`).
    public func pause() throws(IngestError) { try setState(GST_STATE_PAUSED, "PAUSED") }

    /// Stops the pipeline and releases its resources (`gst_element_set_state(NULL)`); never fails.
    public func stop() { gst_element_set_state(element, GST_STATE_NULL) }

    /// The stream's duration, once the pipeline has prerolled (`gst_element_get_state` waiting up to
    /// `timeout`, then `gst_element_query_duration` in time format); nil for live or unknown lengths.
    public func duration(waitingUpTo timeout: Duration = .seconds(5)) -> Duration? {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        var current = GST_STATE_NULL, pending = GST_STATE_NULL
        guard gst_element_get_state(element, &current, &pending, GstClockTime(max(0, nanoseconds))) != GST_STATE_CHANGE_FAILURE else {
            return nil
        }
        var value: gint64 = -1
        guard gst_element_query_duration(element, GST_FORMAT_TIME, &value) != 0, value > 0 else { return nil }
        return .nanoseconds(value)
    }

    private func setState(_ state: GstState, _ name: String, input: String = "the pipeline") throws(IngestError) {
        if gst_element_set_state(element, state) == GST_STATE_CHANGE_FAILURE {
            // The reason, if any, was posted on the bus.
            let posted = popError(timeoutNanoseconds: 0, input: input)
            throw posted ?? IngestError(.stateChange, "the pipeline refused to go to \(name)")
        }
    }

    /// Takes the next error message from the pipeline's bus, waiting up to `timeoutNanoseconds`
    /// (`gst_bus_timed_pop_filtered`); nil if none arrived.
    public func popError(timeoutNanoseconds: UInt64) -> IngestError? {
        popError(timeoutNanoseconds: timeoutNanoseconds, input: "the pipeline")
    }

    func popError(timeoutNanoseconds: UInt64, input: String) -> IngestError? {
        guard let bus = gst_element_get_bus(element) else { return nil }
        defer { gst_object_unref(bus) }
        guard let message = gst_bus_timed_pop_filtered(bus, GstClockTime(timeoutNanoseconds), GST_MESSAGE_ERROR) else {
            return nil
        }
        defer { gst_message_unref(message) }
        return IngestError.fromErrorMessage(message, input: input)
    }
}

/// One reference to a GStreamer element, released in `deinit`.
public final class Element: @unchecked Sendable {
    // Safety: immutable after init; GStreamer elements are thread-safe reference-counted objects.
    let pointer: UnsafeMutablePointer<GstElement>

    /// Takes over one reference (+1) to `pointer`.
    init(owning pointer: UnsafeMutablePointer<GstElement>) { self.pointer = pointer }

    deinit { gst_object_unref(pointer) }

    /// The element's name (`GST_OBJECT_NAME`).
    public var name: String {
        rs_gst_object_name(UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: GstObject.self))
            .map { String(cString: $0) } ?? ""
    }
}
