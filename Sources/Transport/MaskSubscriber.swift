import Foundation
import WireProtocol
import ZeroMQ

/// A mask as a subscriber receives it.
public struct ReceivedMask: Sendable {
    public var header: MaskHeader
    /// The raw payload (in `header.encoding`).
    public var payload: [UInt8]
    /// Masks of this (stream, phrase) missed just before this one, from the sequence numbers (0 for the
    /// first one seen, and after a publisher restart).
    public var missed: UInt64
    /// Seconds between the capture of the frame and the arrival here (clocks of both hosts).
    public var age: Double
    /// Seconds between publishing and the arrival here.
    public var transit: Double

    /// Decodes the payload (`rle` and `bits`).
    public func mask() throws(WireProtocolError) -> BinaryMask { try header.decodeMask(payload) }
}

/// Subscribes to masks on a SUB socket: all streams, one stream, or one phrase; checks sequence numbers
/// for gaps. Other topics (`events/`, `status`) are not subscribed.
///
/// Not `Sendable`: it owns a socket.
public final class MaskSubscriber {
    public let stream: String?
    public let phrase: String?
    private let socket: Socket
    private var lastSequence: [String: UInt64] = [:]
    /// Masks missed so far (sum of `ReceivedMask.missed`).
    public private(set) var totalMissed: UInt64 = 0

    /// - Parameters:
    ///   - stream: only this stream (prefix `masks/<stream>/`), nil for all.
    ///   - phrase: only this phrase id (compared exactly, since ZeroMQ prefixes would also match
    ///     `p10` for `p1`), nil for all.
    ///   - receiveHighWaterMark: messages queued here before libzmq drops (shows up as gaps).
    public init(context: Context, endpoint: String, stream: String? = nil, phrase: String? = nil,
                receiveHighWaterMark: Int32 = 1000, curve: CurveClientConfiguration? = nil) throws(TransportError) {
        self.stream = stream
        self.phrase = phrase
        do throws(ZeroMQError) {
            socket = try Socket(context, .sub)
            try socket.set(.receiveHighWaterMark(receiveHighWaterMark))
            try curve?.apply(to: socket)
            try socket.subscribe(Array(Topic.maskPrefix(stream: stream).utf8))
            try socket.connect(endpoint)
        } catch {
            throw .socket(error, "cannot subscribe to \(endpoint)")
        }
    }

    /// The next mask, or nil when none arrived within `timeoutMilliseconds` (-1: wait forever).
    /// Malformed messages are skipped.
    public func next(timeoutMilliseconds: Int) throws(TransportError) -> ReceivedMask? {
        let deadline = timeoutMilliseconds < 0 ? nil : ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while true {
            var wait = -1
            if let deadline {
                let left = deadline - ContinuousClock.now
                wait = max(0, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            }
            let parts: [[UInt8]]?
            do { parts = try socket.receive(timeoutMilliseconds: wait) } catch { throw .socket(error, "receiving masks") }
            guard let parts else { return nil }
            let now = Date().timeIntervalSince1970
            guard parts.count == 3, let ids = Topic.parseMask(parts[0]),
                  let header = try? MaskHeader(jsonBytes: parts[1])
            else { continue }
            if let phrase, ids.phrase != phrase { continue }
            let key = ids.stream + "/" + ids.phrase
            var missed: UInt64 = 0
            if let last = lastSequence[key], header.sequence > last { missed = header.sequence - last - 1 }
            lastSequence[key] = header.sequence
            totalMissed += missed
            return ReceivedMask(header: header, payload: parts[2], missed: missed,
                                age: now - header.captureTime, transit: now - header.publishTime)
        }
    }
}
