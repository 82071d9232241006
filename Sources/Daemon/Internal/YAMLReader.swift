import Foundation
import Tracking
import VideoIngest
import WireProtocol
import Yams

/// Reads `DaemonConfiguration` from the YAML node tree (Yams' `compose`), so that every error can name
/// the key and the line it is on. Strict: unknown keys and wrong types are errors, never ignored.
struct YAMLReader {
    let file: String?
    let root: Node?
    private var nextPhraseNumber = 1
    private var phraseIDs: Set<String> = []

    init(yaml: String, file: String?) throws(DaemonError) {
        self.file = file
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw DaemonError(.unreadable, "not valid YAML: \(Self.describe(error))", line: Self.line(of: error), file: file)
        } catch {
            throw DaemonError(.unreadable, "not valid YAML", file: file, underlying: "\(error)")
        }
    }

    mutating func configuration() throws(DaemonError) -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        guard let root else { return configuration }
        let top = try mapping(root, key: "(top level)", known: ["model", "transport", "metrics", "streams"])
        if let node = top["model"] { configuration.model = try model(node) }
        if let node = top["transport"] { configuration.transport = try transport(node) }
        if let node = top["metrics"] { configuration.metrics = try metrics(node) }
        if let node = top["streams"] {
            if case .scalar(let s) = node, s.tag == Tag(.null) || s.string.isEmpty {
                // `streams:` with nothing after it: no streams; the daemon still serves control and
                // metrics (useful to check a deployment before cameras are configured).
            } else {
                guard case .sequence(let list) = node else { throw invalid("streams", node, "must be a list of streams (`- id: …`)") }
                var seen: [String: Int] = [:]
                for (index, item) in list.enumerated() {
                    let stream = try self.stream(item, key: "streams[\(index)]")
                    if let other = seen[stream.id] {
                        throw invalid("streams[\(index)].id", item, "the stream id '\(stream.id)' is already used by streams[\(other)]; ids must be unique")
                    }
                    seen[stream.id] = index
                    configuration.streams.append(stream)
                }
            }
        }
        return configuration
    }

    // MARK: Sections

    private func model(_ node: Node) throws(DaemonError) -> DaemonConfiguration.Model {
        let map = try mapping(node, key: "model", known: ["weights", "tokenizer", "config", "threads", "shorter_side", "pixel_decoder"])
        var model = DaemonConfiguration.Model()
        for (key, value) in map { model.lines[key] = value.mark?.line }
        model.weights = try map["weights"].map { v throws(DaemonError) in try path(v, key: "model.weights") }
        model.tokenizer = try map["tokenizer"].map { v throws(DaemonError) in try path(v, key: "model.tokenizer") }
        model.config = try map["config"].map { v throws(DaemonError) in try path(v, key: "model.config") }
        if let v = map["threads"] { model.threads = try integer(v, key: "model.threads", in: 1...256) }
        if let v = map["shorter_side"] {
            model.shorterSide = try integer(v, key: "model.shorter_side", in: 32...4096)
            model.shorterSideGiven = true
        }
        if let v = map["pixel_decoder"] {
            let name = try string(v, key: "model.pixel_decoder")
            guard let mode = PixelDecoderMode(rawValue: name) else {
                throw invalid("model.pixel_decoder", v, "unknown mode '\(name)'; use one of \(PixelDecoderMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            model.pixelDecoder = mode
        }
        return model
    }

    private func transport(_ node: Node) throws(DaemonError) -> DaemonConfiguration.Transport {
        let map = try mapping(node, key: "transport", known: ["masks", "control", "encoding", "allow_remote", "send_high_water_mark"])
        var transport = DaemonConfiguration.Transport()
        for (key, value) in map { transport.lines[key] = value.mark?.line }
        if let v = map["masks"] {
            if case .sequence(let list) = v {
                transport.masks = try list.map { item throws(DaemonError) in try endpoint(item, key: "transport.masks") }
                if transport.masks.isEmpty { throw invalid("transport.masks", v, "give at least one endpoint") }
            } else {
                transport.masks = [try endpoint(v, key: "transport.masks")]
            }
        }
        if let v = map["control"] { transport.control = try endpoint(v, key: "transport.control") }
        if let v = map["encoding"] {
            let name = try string(v, key: "transport.encoding")
            guard let encoding = MaskEncoding(rawValue: name) else {
                throw invalid("transport.encoding", v, "unknown encoding '\(name)'; use one of \(MaskEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            transport.encoding = encoding
        }
        if let v = map["allow_remote"] { transport.allowRemote = try bool(v, key: "transport.allow_remote") }
        if let v = map["send_high_water_mark"] { transport.sendHighWaterMark = try integer(v, key: "transport.send_high_water_mark", in: 1...1_000_000) }
        return transport
    }

    private func metrics(_ node: Node) throws(DaemonError) -> DaemonConfiguration.Metrics {
        let map = try mapping(node, key: "metrics", known: ["listen", "dead_after"])
        var metrics = DaemonConfiguration.Metrics()
        for (key, value) in map { metrics.lines[key] = value.mark?.line }
        if let v = map["listen"], !isNull(v) {
            let text = try string(v, key: "metrics.listen")
            guard let hostPort = HostPort(text) else {
                throw invalid("metrics.listen", v, "'\(text)' is not host:port (e.g. 127.0.0.1:9464)")
            }
            metrics.listen = hostPort
        }
        if let v = map["dead_after"] { metrics.deadAfter = try seconds(v, key: "metrics.dead_after") }
        return metrics
    }

    private mutating func stream(_ node: Node, key: String) throws(DaemonError) -> DaemonConfiguration.Stream {
        let map = try mapping(node, key: key, known: ["id", "source", "params", "window", "phrases", "enabled", "template"])
        guard let idNode = map["id"] else { throw missing("\(key).id", node, "every stream needs an id (letters, digits, _ . -)") }
        let id = try string(idNode, key: "\(key).id")
        guard Identifier.isValid(id) else {
            throw invalid("\(key).id", idNode, "'\(id)' is not a valid id: 1 to \(Identifier.maximumLength) characters of A-Z a-z 0-9 _ . -")
        }
        guard let sourceNode = map["source"] else {
            throw missing("\(key).source", node, "say where frames come from: one of \(PipelineTemplate.builtinKinds.joined(separator: ", "))")
        }
        let kind = try string(sourceNode, key: "\(key).source")
        guard PipelineTemplate.builtinKinds.contains(kind) else {
            throw DaemonError(.unknownTemplate, "unknown source template '\(kind)'; use one of \(PipelineTemplate.builtinKinds.joined(separator: ", ")) (a template file of your own goes in `template:`)",
                              key: "\(key).source", line: sourceNode.mark?.line, file: file)
        }
        let params = try map["params"].map { v throws(DaemonError) in try mapping(v, key: "\(key).params", known: nil) } ?? [:]
        var source = try SourceBuilder(reader: self, key: "\(key).params", params: params, node: map["params"] ?? node).build(kind: kind)
        if let templateNode = map["template"] {
            let path = try self.path(templateNode, key: "\(key).template")
            do {
                source.template = try PipelineTemplate(contentsOfFile: path)
                _ = try source.pipelineDescription()
            } catch {
                throw DaemonError(.unknownTemplate, "\(error)", key: "\(key).template", line: templateNode.mark?.line, file: file)
            }
        }
        var window = (length: 3, stride: 3)
        if let w = map["window"] {
            let wm = try mapping(w, key: "\(key).window", known: ["length", "stride"])
            if let v = wm["length"] { window.length = try integer(v, key: "\(key).window.length", in: 1...64) }
            if let v = wm["stride"] { window.stride = try integer(v, key: "\(key).window.stride", in: 1...64) }
            guard window.stride <= window.length else {
                throw invalid("\(key).window.stride", wm["stride"] ?? w, "the stride (\(window.stride)) must not exceed the length (\(window.length)): frames would be skipped")
            }
        }
        var phrases: [DaemonConfiguration.Phrase] = []
        if let p = map["phrases"], !isNull(p) {
            guard case .sequence(let list) = p else { throw invalid("\(key).phrases", p, "must be a list of phrases (`- \"the red car\"` or `- {id: car, text: \"the red car\"}`)") }
            for (index, item) in list.enumerated() {
                phrases.append(try phrase(item, key: "\(key).phrases[\(index)]"))
            }
        }
        let enabled = try map["enabled"].map { v throws(DaemonError) in try bool(v, key: "\(key).enabled") } ?? true
        return DaemonConfiguration.Stream(id: id, kind: kind, source: source, window: window, phrases: phrases, enabled: enabled, line: node.mark?.line)
    }

    private mutating func phrase(_ node: Node, key: String) throws(DaemonError) -> DaemonConfiguration.Phrase {
        var id: String?
        let text: String
        let textNode: Node
        if case .mapping = node {
            let map = try mapping(node, key: key, known: ["id", "text"])
            guard let t = map["text"] else { throw missing("\(key).text", node, "a phrase needs its text") }
            textNode = t
            text = try string(t, key: "\(key).text")
            if let i = map["id"] {
                let value = try string(i, key: "\(key).id")
                guard Identifier.isValid(value) else {
                    throw invalid("\(key).id", i, "'\(value)' is not a valid id: 1 to \(Identifier.maximumLength) characters of A-Z a-z 0-9 _ . -")
                }
                id = value
            }
        } else {
            textNode = node
            text = try string(node, key: key)
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw invalid(key, textNode, "the phrase text is empty") }
        if id == nil {
            while phraseIDs.contains("p\(nextPhraseNumber)") { nextPhraseNumber += 1 }
            id = "p\(nextPhraseNumber)"
            nextPhraseNumber += 1
        }
        guard let id, phraseIDs.insert(id).inserted else {
            throw invalid(key, node, "the phrase id '\(id ?? "")' is already used; phrase ids are unique across all streams")
        }
        return DaemonConfiguration.Phrase(id: id, text: trimmed)
    }

    // MARK: Typed values

    func mapping(_ node: Node, key: String, known: Set<String>?) throws(DaemonError) -> [String: Node] {
        guard case .mapping(let map) = node else {
            throw invalid(key, node, "must be a mapping of `key: value` lines")
        }
        var result: [String: Node] = [:]
        for (k, v) in map {
            guard case .scalar(let s) = k else { throw invalid(key, k, "keys must be plain names") }
            let name = s.string
            if let known, !known.contains(name) {
                let prefix = key == "(top level)" ? "" : key + "."
                throw DaemonError(.unknownKey, "unknown key '\(name)'; the keys here are \(known.sorted().joined(separator: ", "))",
                                  key: prefix + name, line: k.mark?.line, file: file)
            }
            if result[name] != nil { throw invalid(key, k, "the key '\(name)' appears twice") }
            result[name] = v
        }
        return result
    }

    func isNull(_ node: Node) -> Bool {
        if case .scalar(let s) = node { return s.tag == Tag(.null) || (s.style == .plain && ["", "~", "null"].contains(s.string)) }
        return false
    }

    func string(_ node: Node, key: String) throws(DaemonError) -> String {
        guard case .scalar(let s) = node, !isNull(node) else { throw invalid(key, node, "must be a text value") }
        return s.string
    }

    func path(_ node: Node, key: String) throws(DaemonError) -> String {
        let text = try string(node, key: key)
        guard !text.isEmpty else { throw invalid(key, node, "the path is empty") }
        return (text as NSString).expandingTildeInPath
    }

    func endpoint(_ node: Node, key: String) throws(DaemonError) -> String {
        let text = try string(node, key: key)
        guard text.hasPrefix("tcp://") || text.hasPrefix("ipc://") || text.hasPrefix("inproc://") else {
            throw invalid(key, node, "'\(text)' is not a ZeroMQ endpoint (tcp://HOST:PORT or ipc:///PATH)")
        }
        return text
    }

    func integer(_ node: Node, key: String, in range: ClosedRange<Int>) throws(DaemonError) -> Int {
        guard case .scalar(let s) = node, s.style == .plain, let value = Int(s.string) else {
            throw invalid(key, node, "must be a whole number (\(range.lowerBound)…\(range.upperBound))")
        }
        guard range.contains(value) else { throw invalid(key, node, "\(value) is out of range; use \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    func bool(_ node: Node, key: String) throws(DaemonError) -> Bool {
        guard case .scalar(let s) = node, s.style == .plain, let value = node.bool else {
            throw invalid(key, node, "must be true or false")
        }
        _ = s
        return value
    }

    /// A duration in seconds (`2`, `0.5`).
    func seconds(_ node: Node, key: String) throws(DaemonError) -> Duration {
        guard case .scalar(let s) = node, s.style == .plain, let value = Double(s.string), value.isFinite, value >= 0, value <= 86_400 else {
            throw invalid(key, node, "must be a number of seconds (0…86400)")
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    func invalid(_ key: String, _ node: Node, _ message: String) -> DaemonError {
        DaemonError(.invalidValue, message, key: key, line: node.mark?.line, file: file)
    }

    func missing(_ key: String, _ node: Node, _ message: String) -> DaemonError {
        DaemonError(.missingKey, "missing: " + message, key: key, line: node.mark?.line, file: file)
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            return [context.map { "\($0)" }, problem].compactMap { $0 }.joined(separator: ": ")
        default:
            return "\(error)"
        }
    }
}

/// Turns a stream's `source` and `params` into a `SourceConfiguration`, strictly: each template kind
/// takes its own parameters, documented in `config/referstreamd.yaml`.
struct SourceBuilder {
    let reader: YAMLReader
    let key: String
    let params: [String: Node]
    let node: Node

    static let parameters: [String: Set<String>] = [
        "file": ["location", "live"],
        "rtsp": ["location", "latency", "transport", "timeout", "user", "password"],
        "v4l2": ["device", "format", "width", "height", "framerate"],
        "test": ["pattern", "live", "frames", "width", "height", "framerate"],
        "custom": ["pipeline", "live"],
    ]

    func build(kind: String) throws(DaemonError) -> SourceConfiguration {
        let allowed = Self.parameters[kind] ?? []
        for (name, value) in params where !allowed.contains(name) {
            throw DaemonError(.unknownKey, "the '\(kind)' source has no parameter '\(name)'; its parameters are \(allowed.sorted().joined(separator: ", "))",
                              key: "\(key).\(name)", line: value.mark?.line, file: reader.file)
        }
        let input: SourceConfiguration.Input
        switch kind {
        case "file":
            input = .file(.init(path: try required("location"), realtime: try bool("live") ?? false))
        case "rtsp":
            var rtsp = SourceConfiguration.RTSP(url: try required("location"))
            if let ms = try int("latency", 0...60_000) { rtsp.latency = .milliseconds(ms) }
            if let t = params["transport"] {
                let name = try reader.string(t, key: "\(key).transport")
                guard let value = SourceConfiguration.RTSP.Transport(rawValue: name) else {
                    throw reader.invalid("\(key).transport", t, "use tcp, udp or any")
                }
                rtsp.transport = value
            }
            if let t = params["timeout"] { rtsp.timeout = try reader.seconds(t, key: "\(key).timeout") }
            rtsp.username = try string("user")
            rtsp.password = try string("password")
            input = .rtsp(rtsp)
        case "v4l2":
            var camera = SourceConfiguration.Camera(device: try string("device") ?? "/dev/video0")
            if let format = try string("format") {
                switch format.lowercased() {
                case "any": camera.format = .any
                case "mjpeg", "jpeg": camera.format = .mjpeg
                case "raw": camera.format = .raw(nil)
                default: camera.format = .raw(format)
                }
            }
            camera.width = try int("width", 1...16384)
            camera.height = try int("height", 1...16384)
            camera.framerate = try int("framerate", 1...1000)
            input = .v4l2(camera)
        case "test":
            var test = SourceConfiguration.TestPattern()
            if let p = try string("pattern") { test.pattern = p }
            if let l = try bool("live") { test.live = l }
            test.frameCount = try int("frames", 1...Int(Int32.max))
            if let w = try int("width", 1...16384) { test.width = w }
            if let h = try int("height", 1...16384) { test.height = h }
            if let f = try int("framerate", 1...1000) { test.framerate = f }
            input = .test(test)
        default:  // custom
            input = .custom(.init(description: try required("pipeline"), live: try bool("live") ?? true))
        }
        // Frames at the decoded size: the engine resizes them exactly as the official pre-processing
        // does (Pillow's filter), and masks come out at the camera's resolution, aligned with its image.
        let configuration = SourceConfiguration(input, output: .original)
        do {
            _ = try configuration.pipelineDescription()
        } catch {
            throw DaemonError(.invalidValue, error.message, key: key, line: node.mark?.line, file: reader.file, underlying: error.underlying)
        }
        return configuration
    }

    private func required(_ name: String) throws(DaemonError) -> String {
        guard let value = params[name] else {
            throw DaemonError(.missingKey, "missing: this source needs `\(name)`", key: "\(key).\(name)", line: node.mark?.line, file: reader.file)
        }
        return try reader.string(value, key: "\(key).\(name)")
    }

    private func string(_ name: String) throws(DaemonError) -> String? {
        try params[name].map { v throws(DaemonError) in try reader.string(v, key: "\(key).\(name)") }
    }

    private func bool(_ name: String) throws(DaemonError) -> Bool? {
        try params[name].map { v throws(DaemonError) in try reader.bool(v, key: "\(key).\(name)") }
    }

    private func int(_ name: String, _ range: ClosedRange<Int>) throws(DaemonError) -> Int? {
        try params[name].map { v throws(DaemonError) in try reader.integer(v, key: "\(key).\(name)", in: range) }
    }
}
