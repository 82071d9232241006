import Foundation
import Transport
import WireProtocol

/// Carries out control commands (`Transport.ControlHandler`) on the daemon's streams and phrases.
///
/// Runs on the control server's thread; each command takes the hub's lock briefly. `stream.add` and
/// `stream.remove` start or stop a source (a GStreamer state change, tens of milliseconds).
final class DaemonController: ControlHandler {
    private let hub: StreamHub
    private let startedAt = Date()

    init(hub: StreamHub) { self.hub = hub }

    func handle(_ command: ControlCommand) throws(WireProtocolError) -> JSONValue {
        switch command {
        case .phraseAdd(let stream, let text, let id):
            return try Self.json(hub.addPhrase(stream: stream, text: text, id: id))
        case .phraseSet(let id, let text):
            return try Self.json(hub.setPhrase(id: id, text: text))
        case .phraseRemove(let id):
            return try Self.json(hub.removePhrase(id: id))
        case .phraseList(let stream):
            return try Self.json(hub.phraseList(stream: stream))
        case .streamList:
            return try Self.json(streams())
        case .status:
            return status()
        case .streamAdd(let stream):
            try hub.startStream(stream)
            guard let info = streams().first(where: { $0.id == stream }) else {
                throw WireProtocolError(.internalError, "the stream '\(stream)' vanished")
            }
            return try Self.json(info)
        case .streamRemove(let stream):
            try hub.stopStream(stream, reason: "stream.remove")
            guard let info = streams().first(where: { $0.id == stream }) else {
                throw WireProtocolError(.internalError, "the stream '\(stream)' vanished")
            }
            return try Self.json(info)
        }
    }

    private func streams() -> [StreamInfo] {
        hub.reports().map { StreamInfo(id: $0.id, state: $0.state, active: $0.active) }
    }

    /// `status`: uptime, then per stream its state and counters.
    func status() -> JSONValue {
        .object([
            "uptime": .double(Date().timeIntervalSince(startedAt)),
            "streams": .array(hub.reports().map(Self.report)),
        ])
    }

    static func report(_ r: StreamHub.StreamReport) -> JSONValue {
        .object([
            "id": .string(r.id), "state": .string(r.state), "active": .bool(r.active),
            "frames_received": .int(r.received), "frames_processed": .int(r.processed), "frames_dropped": .int(r.dropped),
            "reconnects": .int(r.reconnects), "phrases": .int(Int64(r.phrases)),
            "silent_seconds": r.silentFor.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
            "failure": r.failure.map { .string($0) } ?? .null,
        ])
    }

    private static func json(_ value: some Encodable) throws(WireProtocolError) -> JSONValue {
        try JSONValue(encoding: value)
    }
}
