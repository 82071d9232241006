import Foundation

/// What an `events/<stream>` message reports.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    case streamConnecting = "stream.connecting"
    case streamLive = "stream.live"
    case streamStalled = "stream.stalled"
    case streamReconnecting = "stream.reconnecting"
    case streamEOS = "stream.eos"
    /// The stream was stopped (`stream.remove`, or the daemon shutting down: its last event).
    case streamStopped = "stream.stopped"
    case phraseAdded = "phrase.added"
    case phraseReplaced = "phrase.replaced"
    case phraseRemoved = "phrase.removed"
    case trackAcquired = "track.acquired"
    case trackLost = "track.lost"
}

/// The JSON frame of an event message (`[events/<stream>, event]`). Keys are always present; those that
/// do not apply to the event are `null`.
public struct EventMessage: Sendable, Equatable, Codable {
    public var schema: Int = MaskHeader.schemaVersion
    public var stream: String
    public var event: EventKind
    /// Wall-clock time of the event, Unix seconds.
    public var time: Double
    public var phraseID: String?
    public var phrase: String?
    public var trackID: Int?
    /// Free text for operators (e.g. the reason a stream stalled).
    public var detail: String?

    public init(stream: String, event: EventKind, time: Double, phraseID: String? = nil, phrase: String? = nil,
                trackID: Int? = nil, detail: String? = nil) {
        self.stream = stream
        self.event = event
        self.time = time
        self.phraseID = phraseID
        self.phrase = phrase
        self.trackID = trackID
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case schema, stream, event, time, phraseID = "phrase_id", phrase, trackID = "track_id", detail
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(stream, forKey: .stream)
        try c.encode(event, forKey: .event)
        try c.encode(time, forKey: .time)
        try c.encode(phraseID, forKey: .phraseID)
        try c.encode(phrase, forKey: .phrase)
        try c.encode(trackID, forKey: .trackID)
        try c.encode(detail, forKey: .detail)
    }
}

/// The JSON frame of the periodic status message (`[status, status]`).
public struct StatusMessage: Sendable, Equatable, Codable {
    public var schema: Int = MaskHeader.schemaVersion
    /// Wall-clock time, Unix seconds.
    public var time: Double
    /// Seconds since the publisher started.
    public var uptime: Double
    /// Mask messages handed to the socket.
    public var published: UInt64
    /// Masks dropped before the socket because the publisher's queue was full (drop-oldest).
    public var dropped: UInt64
    /// Event messages handed to the socket.
    public var events: UInt64
    /// Whatever the daemon adds (streams, phrases, inference rate), `null` when nothing.
    public var details: JSONValue

    public init(time: Double, uptime: Double, published: UInt64, dropped: UInt64, events: UInt64, details: JSONValue) {
        self.time = time
        self.uptime = uptime
        self.published = published
        self.dropped = dropped
        self.events = events
        self.details = details
    }
}

extension Encodable {
    /// Compact JSON with sorted keys; nil only for non-finite numbers.
    public func wireJSON() -> [UInt8]? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map(Array.init)
    }
}
