import Foundation
import Tracking
import VideoIngest
import WireProtocol

/// What `referstreamd` runs: the model, the sockets, the HTTP endpoint and the streams.
///
/// Read from YAML by `DaemonConfiguration(yaml:file:)`; every key is documented in
/// `config/referstreamd.yaml`. Values are checked when read (types, ranges, identifiers, template
/// parameters), with the key and line in the error; what needs the file system or the network (weights,
/// tokenizer, ports) is checked by `DaemonPlan`.
public struct DaemonConfiguration: Sendable {
    public struct Model: Sendable {
        /// An official `.pth` or a `.safetensors` file; nil: the bundled model.
        public var weights: String?
        /// A folder with vocab.json + merges.txt or tokenizer.json (or a tokenizer.json file); nil: the
        /// bundled model's, else the weights' folder.
        public var tokenizer: String?
        /// A model configuration JSON (official option names); nil: inferred from the weights.
        public var config: String?
        /// Threads for the matrix products (OpenBLAS) and the parallel loops.
        public var threads: Int = 2
        /// The network input's shorter side (the official inference uses 360). Without `model.shorter_side`
        /// the daemon uses the size the model was trained at when its configuration file says
        /// (`LoadedModel.trainedShorterSide`: 192 for the bundled demo model), else 360.
        public var shorterSide: Int = 360
        /// Whether `model.shorter_side` was given (then it is used as it is).
        public var shorterSideGiven = false
        /// `exact` (official) or `incremental` (opt-in: each frame's pixel decoder once; approximate).
        public var pixelDecoder: PixelDecoderMode = .exact
        /// Where each value came from, for messages.
        public var lines: [String: Int] = [:]
    }

    public struct Transport: Sendable {
        /// Endpoints of the mask PUB socket.
        public var masks: [String] = ["tcp://127.0.0.1:5561"]
        /// Endpoint of the control ROUTER socket.
        public var control: String = "tcp://127.0.0.1:5560"
        public var encoding: MaskEncoding = .rle
        /// Allow endpoints reachable from other machines (`tcp://*:5561`, a LAN address).
        public var allowRemote: Bool = false
        /// ZMQ_SNDHWM of the mask socket (messages per subscriber before libzmq drops for it).
        public var sendHighWaterMark: Int = 100
        public var lines: [String: Int] = [:]
    }

    public struct Metrics: Sendable {
        /// `host:port` of the HTTP endpoint (`/metrics`, `/healthz`); nil: no HTTP endpoint.
        public var listen: HostPort?
        /// A running stream without a frame for this long is dead (`/healthz` answers 503).
        public var deadAfter: Duration = .seconds(30)
        public var lines: [String: Int] = [:]
    }

    public struct Phrase: Sendable, Equatable {
        public var id: String
        public var text: String
    }

    public struct Stream: Sendable {
        public var id: String
        /// The template kind (`file`, `rtsp`, `v4l2`, `test`, `custom`).
        public var kind: String
        /// The ingest configuration built from `source` and `params`.
        public var source: SourceConfiguration
        public var window: (length: Int, stride: Int)
        public var phrases: [Phrase]
        /// Whether the daemon starts the stream itself (false: only `stream.add` starts it).
        public var enabled: Bool
        /// Line of the stream's entry.
        public var line: Int?
    }

    public var model = Model()
    public var transport = Transport()
    public var metrics = Metrics()
    public var streams: [Stream] = []
    /// The file the configuration was read from (for messages).
    public var file: String?

    public init() {}

    /// Reads a configuration file.
    /// - Throws: `DaemonError` naming the key and line of the first problem.
    public init(contentsOfFile path: String) throws(DaemonError) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DaemonError(.unreadable, "cannot read the configuration file; check the path and its permissions", file: path, underlying: "\(error)")
        }
        try self.init(yaml: text, file: path)
    }

    /// Parses configuration YAML (see `config/referstreamd.yaml`).
    /// - Throws: `DaemonError` naming the key and line of the first problem.
    public init(yaml: String, file: String? = nil) throws(DaemonError) {
        var reader = try YAMLReader(yaml: yaml, file: file)
        self = try reader.configuration()
        self.file = file
    }

    /// The stream of this id.
    public func stream(_ id: String) -> Stream? { streams.first { $0.id == id } }
}

/// A `host:port` pair (`127.0.0.1:9464`, `[::1]:9464`, `:9464` for all interfaces).
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; nil when it is not one.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty || host == "*" { host = "0.0.0.0" }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
