import CGStreamer
import CGStreamerShims

/// Process-wide GStreamer initialisation (`gst_init`).
public enum GStreamer {
    private static let initialized: Bool = {
        gst_init(nil, nil)
        return true
    }()

    /// Initialises GStreamer once per process; safe to call from any thread, any number of times.
    public static func initialize() {
        _ = initialized
    }

    /// The GStreamer library version, e.g. "1.22.0" (`gst_version`).
    public static var version: String {
        var major: guint = 0, minor: guint = 0, micro: guint = 0, nano: guint = 0
        gst_version(&major, &minor, &micro, &nano)
        return "\(major).\(minor).\(micro)"
    }
}

extension IngestError {
    /// Wraps a `GError` (and frees it: this takes ownership of `error`).
    static func consuming(
        _ error: UnsafeMutablePointer<GError>?, code: Code, message: String, debug: String? = nil
    ) -> IngestError {
        defer { if let error { g_error_free(error) } }
        var detail = error.map { String(cString: $0.pointee.message) } ?? ""
        if let debug, !debug.isEmpty { detail += detail.isEmpty ? debug : "; \(debug)" }
        return IngestError(code, message, underlying: detail.isEmpty ? nil : detail)
    }
}

extension IngestError {
    /// What an ERROR or WARNING bus message says (`gst_message_parse_error` / `_warning`), copied
    /// out so the GError and debug string are freed at once.
    private struct BusReport {
        var domain: GQuark?
        var code: UInt32
        var text: String?
        var debug: String?
        var element: String

        init(_ message: UnsafeMutablePointer<GstMessage>, warning: Bool) {
            var error: UnsafeMutablePointer<GError>?
            var debug: UnsafeMutablePointer<gchar>?
            if warning { gst_message_parse_warning(message, &error, &debug) } else { gst_message_parse_error(message, &error, &debug) }
            defer {
                g_free(debug)
                if let error { g_error_free(error) }
            }
            domain = error?.pointee.domain
            code = error.map { UInt32(bitPattern: $0.pointee.code) } ?? 0
            text = error.map { String(cString: $0.pointee.message) }
            self.debug = debug.map { String(cString: $0) }
            element = rs_gst_object_name(rs_gst_message_src(message)).map { String(cString: $0) } ?? "pipeline"
        }

        /// "element 'NAME': DEBUG", for `IngestError.underlying`.
        var underlying: String { "element '\(element)'" + (debug.map { ": " + $0 } ?? "") }
    }

    /// A typed error from a bus ERROR message (`gst_message_parse_error`), classified by GError domain
    /// and code, with a message that names the input and says what to check.
    static func fromErrorMessage(_ message: UnsafeMutablePointer<GstMessage>, input: String) -> IngestError {
        let report = BusReport(message, warning: false)
        let (code, hint) = classify(domain: report.domain, code: report.code)
        return IngestError(code, joinSentences("\(input): \(report.text ?? "unknown error")", hint), underlying: report.underlying)
    }

    /// `text` (GStreamer's own wording, often without a full stop: "Not found") followed by `hint`,
    /// as sentences: `text` gets a full stop unless it already ends with sentence punctuation.
    static func joinSentences(_ text: String, _ hint: String) -> String {
        let trimmed = text.trimmingTrailingWhitespace()
        guard !hint.isEmpty else { return trimmed }
        guard let last = trimmed.unicodeScalars.last else { return hint }
        let ended = [".", "!", "?", "…", ":"].contains(Character(last))
        return trimmed + (ended ? " " : ". ") + hint
    }

    /// A live input's session loss told by a WARNING: rtspsrc warns "Could not read from resource"
    /// (`GST_RESOURCE_ERROR_READ`) the moment the server closes the connection, before its EOS or
    /// error. nil for any other warning.
    static func sessionLoss(_ message: UnsafeMutablePointer<GstMessage>, input: String) -> IngestError? {
        let report = BusReport(message, warning: true)
        guard report.domain == gst_resource_error_quark(), report.code == GST_RESOURCE_ERROR_READ.rawValue else { return nil }
        return IngestError(
            .resource, joinSentences("\(input): \(report.text ?? "read error")", "The server closed the connection or stopped answering."),
            underlying: report.underlying)
    }

    /// rtspsrc's element message `GstRTSPSrcTimeout` (the server's RTP source timed out in RTCP, or
    /// no data arrived over UDP within rtspsrc's `timeout`): the session is gone. nil for other
    /// element messages.
    static func sessionTimeout(_ message: UnsafeMutablePointer<GstMessage>, input: String) -> IngestError? {
        guard let structure = gst_message_get_structure(message),
            gst_structure_has_name(structure, "GstRTSPSrcTimeout") != 0
        else { return nil }
        return IngestError(.timeout, "\(input): the RTSP server's stream timed out (rtspsrc reported an RTCP or UDP timeout).")
    }

    private static func classify(domain: GQuark?, code: UInt32) -> (Code, String) {
        guard let domain else { return (.stream, "") }
        if domain == gst_resource_error_quark() {
            if code == GST_RESOURCE_ERROR_NOT_FOUND.rawValue {
                return (.notFound, "Check that it exists (path, device node or stream URL).")
            }
            return (.resource, "Check that it is reachable, readable and not in use.")
        }
        if domain == gst_stream_error_quark() {
            let decodeCodes: [GstStreamError] = [
                GST_STREAM_ERROR_TYPE_NOT_FOUND, GST_STREAM_ERROR_DEMUX, GST_STREAM_ERROR_DECODE,
                GST_STREAM_ERROR_CODEC_NOT_FOUND, GST_STREAM_ERROR_WRONG_TYPE, GST_STREAM_ERROR_FORMAT,
                GST_STREAM_ERROR_DECRYPT, GST_STREAM_ERROR_DECRYPT_NOKEY,
            ]
            if decodeCodes.contains(where: { $0.rawValue == code }) {
                return (.decode, "The data is corrupt, truncated or in a format no installed plugin decodes.")
            }
        }
        return (.stream, "")
    }

    /// The text of a bus WARNING message (`gst_message_parse_warning`).
    static func warningText(_ message: UnsafeMutablePointer<GstMessage>) -> String {
        let report = BusReport(message, warning: true)
        return "\(report.element): \(report.text ?? "warning")" + (report.debug.map { " (\($0))" } ?? "")
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
