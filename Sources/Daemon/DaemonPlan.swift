import Foundation
import Tracking

/// What `referstreamd --check-config` checks and prints: the configuration with the model loaded and
/// every port checked, without binding anything for longer than the check.
public enum DaemonPlan {
    /// Checks the endpoints and the HTTP port (bind and release).
    /// - Throws: `DaemonError(.bind)` naming the key and line.
    public static func checkPorts(_ c: DaemonConfiguration) throws(DaemonError) {
        for endpoint in c.transport.masks {
            try PortCheck.check(endpoint: endpoint, key: "transport.masks", line: c.transport.lines["masks"], file: c.file)
        }
        try PortCheck.check(endpoint: c.transport.control, key: "transport.control", line: c.transport.lines["control"], file: c.file)
        if let listen = c.metrics.listen {
            try PortCheck.check(listen, key: "metrics.listen", line: c.metrics.lines["listen"], file: c.file)
        }
    }

    /// The plan in words: one line per fact, streams with their pipelines and phrases.
    public static func describe(_ c: DaemonConfiguration, model: LoadedModel) -> String {
        var lines: [String] = []
        lines.append("model: \(model.summary)")
        lines.append("  weights:   \(model.weightsPath)")
        lines.append("  tokenizer: \(model.tokenizerPath)")
        if let origin = model.bundledOrigin { lines.append("  (no model.weights: \(origin))") }
        let sideNote = c.model.shorterSideGiven ? "model.shorter_side"
            : model.trainedShorterSide == c.model.shorterSide ? "the size the model was trained at" : "the official default"
        lines.append("  input:     shorter side \(c.model.shorterSide) px (\(sideNote))")
        if c.model.pixelDecoder != .exact { lines.append("  pixel decoder: \(c.model.pixelDecoder.rawValue) (approximate, opt-in)") }
        lines.append("masks:   \(c.transport.masks.joined(separator: ", ")) (\(c.transport.encoding.rawValue))")
        lines.append("control: \(c.transport.control)")
        lines.append("http:    \(c.metrics.listen.map { "\($0) (/metrics, /healthz; dead after \(c.metrics.deadAfter.seconds) s)" } ?? "off")")
        lines.append("streams: \(c.streams.count)")
        for s in c.streams {
            let mode = s.source.isLive ? "live: newest frames kept, older dropped" : "every frame processed"
            lines.append("  \(s.id): \(s.source.inputDescription), \(mode), window \(s.window.length)/\(s.window.stride)\(s.enabled ? "" : ", started only by stream.add")")
            lines.append("    pipeline: \((try? s.source.pipelineDescription()) ?? "?")")
            for p in s.phrases { lines.append("    phrase \(p.id): \"\(p.text)\"") }
            if let reason = s.phrases.lazy.compactMap({ model.rejection(of: $0.text) }).first {
                lines.append("    warning: \(reason)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The phrases of the configuration that this model cannot take, as errors naming their keys.
    public static func checkPhrases(_ c: DaemonConfiguration, model: LoadedModel) throws(DaemonError) {
        for (i, s) in c.streams.enumerated() {
            for (j, p) in s.phrases.enumerated() {
                if let reason = model.rejection(of: p.text) {
                    throw DaemonError(.invalidValue, reason, key: "streams[\(i)].phrases[\(j)]", line: s.line, file: c.file)
                }
            }
        }
    }
}
