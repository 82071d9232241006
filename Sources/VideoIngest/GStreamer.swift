import CGStreamer

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
