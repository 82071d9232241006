/// A change in a source's state, in the order it happened.
///
/// A live source goes `connecting → live`; when frames stop it reports `stalled`, then
/// `reconnecting` (with the delay before the next attempt), then `connecting` and `live` again.
/// A file or a finite test pattern ends with `endOfStream`; a source that gives up ends with `failed`;
/// `stopped` follows `stop()`. `warning` may come at any time.
public enum SourceEvent: Sendable, Equatable {
    /// A pipeline is being built and started; `attempt` counts from 1 since the source was last live.
    case connecting(attempt: Int)
    /// The first frame of a connection arrived.
    case live
    /// Frames stopped: no frame for the stall timeout, or an error after frames were flowing.
    case stalled(IngestError)
    /// The pipeline was torn down; the next attempt starts after `delay`.
    case reconnecting(attempt: Int, delay: Duration, cause: IngestError)
    /// GStreamer posted a warning (the stream goes on).
    case warning(String)
    /// The input ended (files, finite test patterns). Not an error.
    case endOfStream
    /// The source gave up: an error on a source that does not reconnect, or reconnection attempts
    /// exhausted. `next` throws this error once the queued frames are consumed.
    case failed(IngestError)
    /// `stop()` was called and the pipeline released.
    case stopped

    /// A short name: connecting, live, stalled, reconnecting, warning, eos, failed, stopped.
    public var name: String {
        switch self {
        case .connecting: "connecting"
        case .live: "live"
        case .stalled: "stalled"
        case .reconnecting: "reconnecting"
        case .warning: "warning"
        case .endOfStream: "eos"
        case .failed: "failed"
        case .stopped: "stopped"
        }
    }
}
