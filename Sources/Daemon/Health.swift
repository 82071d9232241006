import WireProtocol

/// The `/healthz` document.
enum Health {
    /// The `/healthz` document and its status code.
    static func report(_ reports: [StreamHub.StreamReport], deadAfter: Duration) -> (status: Int, body: JSONValue) {
        var dead: [String] = []
        let streams: [JSONValue] = reports.map { r in
            // A stream at its end (a file) is done, not dead; one that failed, or a running one without
            // frames (a camera that is gone), is dead once silent for longer than the threshold.
            let silent = (r.silentFor ?? 0) > deadAfter.seconds
            let isDead = r.active && silent && (!r.finished || r.failure != nil)
            if isDead { dead.append(r.id) }
            var object: [String: JSONValue] = [
                "id": .string(r.id), "state": .string(r.state), "active": .bool(r.active), "dead": .bool(isDead),
                "last_frame_age": r.silentFor.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
                "frames_processed": .int(r.processed), "frames_dropped": .int(r.dropped),
            ]
            if let failure = r.failure { object["failure"] = .string(failure) }
            return .object(object)
        }
        let ok = dead.isEmpty
        return (ok ? 200 : 503, .object([
            "status": .string(ok ? "ok" : "dead"),
            "dead": .array(dead.map { .string($0) }),
            "dead_after": .double(deadAfter.seconds),
            "streams": .array(streams),
        ]))
    }

}
