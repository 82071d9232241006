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
    /// A typed error from a bus ERROR message (`gst_message_parse_error`), classified by GError domain
    /// and code, with a message that names the input and says what to check.
    static func fromErrorMessage(_ message: UnsafeMutablePointer<GstMessage>, input: String) -> IngestError {
        var error: UnsafeMutablePointer<GError>?
        var debug: UnsafeMutablePointer<gchar>?
        gst_message_parse_error(message, &error, &debug)
        defer {
            g_free(debug)
            if let error { g_error_free(error) }
        }
        let element = rs_gst_object_name(rs_gst_message_src(message)).map { String(cString: $0) } ?? "pipeline"
        let text = error.map { String(cString: $0.pointee.message) } ?? "unknown error"
        let (code, hint) = classify(error)
        var underlying = "element '\(element)'"
        if let debug { underlying += ": " + String(cString: debug) }
        return IngestError(code, joinSentences("\(input): \(text)", hint), underlying: underlying)
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

    /// A live input's session loss told by a WARNING (`gst_message_parse_warning`): rtspsrc warns
    /// "Could not read from resource" (`GST_RESOURCE_ERROR_READ`) the moment the server closes the
    /// connection, before its EOS or error. nil for any other warning.
    static func sessionLoss(_ message: UnsafeMutablePointer<GstMessage>, input: String) -> IngestError? {
        var error: UnsafeMutablePointer<GError>?
        var debug: UnsafeMutablePointer<gchar>?
        gst_message_parse_warning(message, &error, &debug)
        defer {
            g_free(debug)
            if let error { g_error_free(error) }
        }
        guard let error, error.pointee.domain == gst_resource_error_quark(),
            UInt32(bitPattern: error.pointee.code) == GST_RESOURCE_ERROR_READ.rawValue
        else { return nil }
        let element = rs_gst_object_name(rs_gst_message_src(message)).map { String(cString: $0) } ?? "pipeline"
        let text = String(cString: error.pointee.message)
        var underlying = "element '\(element)'"
        if let debug { underlying += ": " + String(cString: debug) }
        return IngestError(
            .resource, joinSentences("\(input): \(text)", "The server closed the connection or stopped answering."),
            underlying: underlying)
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

    private static func classify(_ error: UnsafeMutablePointer<GError>?) -> (Code, String) {
        guard let error else { return (.stream, "") }
        let domain = error.pointee.domain, code = UInt32(bitPattern: error.pointee.code)
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
        var error: UnsafeMutablePointer<GError>?
        var debug: UnsafeMutablePointer<gchar>?
        gst_message_parse_warning(message, &error, &debug)
        defer {
            g_free(debug)
            if let error { g_error_free(error) }
        }
        let element = rs_gst_object_name(rs_gst_message_src(message)).map { String(cString: $0) } ?? "pipeline"
        let text = error.map { String(cString: $0.pointee.message) } ?? "warning"
        return "\(element): \(text)" + (debug.map { " (\(String(cString: $0)))" } ?? "")
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
