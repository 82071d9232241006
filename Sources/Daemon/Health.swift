import WireProtocol

/// The `/healthz` document.
enum Health {
    /// The `/healthz` document and its status code.
    static func report(_ reports: [StreamHub.StreamReport], deadAfter: Duration) -> (status: Int, body: JSONValue) {
        var dead: [String] = []
        let streams: [JSONValue] = reports.map { r in
            let isDead = r.active && !r.finished && (r.silentFor ?? 0) > deadAfter.seconds
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
