import Checkpoint
import Foundation
import Tensor
import Testing

@testable import ReferFormer

/// Locates Tests/Fixtures from this file's path (never an absolute /work path).
enum Fixtures {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("Tests/Fixtures")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures")
    }()

    static var tiny: URL { root.appendingPathComponent("referformer-tiny") }
}

/// One golden case of the tiny official model (case_N.safetensors + case_N.json).
struct GoldenCase: Sendable {
    let name: String
    let file: SafeTensors
    let json: [String: any Sendable]

    init(_ name: String) throws {
        self.name = name
        file = try SafeTensors(contentsOf: Fixtures.tiny.appendingPathComponent("\(name).safetensors"))
        let data = try Data(contentsOf: Fixtures.tiny.appendingPathComponent("\(name).json"))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        var json: [String: any Sendable] = [:]
        for key in ["T", "H", "W"] { json[key] = object[key] as? Int }
        self.json = json
    }

    func tensor(_ key: String) throws -> Tensor {
        guard let record = file[key] else { throw GoldenError(message: "\(name) has no tensor \(key)") }
        return Tensor(shape: record.shape, elements: try record.floats())
    }

    func ints(_ key: String) throws -> [Int] {
        guard let record = file[key] else { throw GoldenError(message: "\(name) has no tensor \(key)") }
        return try record.int64s().map { Int($0) }
    }

    /// The golden text features (RoBERTa + FeatureResizer outputs), the transformer's text input.
    func text() throws -> TextFeatures {
        TextFeatures(wordFeatures: try tensor("text.word_features"), sentenceFeature: try tensor("text.sentence_feature"))
    }
}

struct GoldenError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The tiny official model, loaded once for all tests (strict: every unused key must be a part
/// that this detector does not cover — text encoder, resizer, pixel decoder, controller).
enum TinyModel {
    static let shared: Result<ReferFormerDetector, any Error> = Result {
        let weights = try StateDict(safetensorsAt: Fixtures.tiny.appendingPathComponent("weights.safetensors"))
        let configuration = try ReferFormerConfiguration.resolve(explicit: nil, shapes: weights.shapes)
        let model = try ReferFormerDetector(configuration: configuration, weights: weights)
        let otherParts = ["text_encoder.", "resizer.", "pixel_decoder.", "controller."]
        weights.allowUnused { key in otherParts.contains { key.hasPrefix($0) } }
        try weights.finish()
        return model
    }

    static func get() throws -> ReferFormerDetector { try shared.get() }
}

/// `max|actual − golden| ≤ tolerance × RMS(golden)` (golden README §6), reporting the worst elements.
func expectClose(_ actual: Tensor, _ golden: Tensor, tolerance: Double, _ name: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.shape == golden.shape else {
        Issue.record("\(name): shape \(actual.shape), golden \(golden.shape)", sourceLocation: sourceLocation)
        return
    }
    let a = actual.scalars, g = golden.scalars
    var sumSq = 0.0
    for v in g { sumSq += Double(v) * Double(v) }
    let rms = (sumSq / Double(max(g.count, 1))).squareRoot()
    var errors: [(Int, Double)] = []
    errors.reserveCapacity(a.count)
    var worst = 0.0
    for i in 0..<a.count {
        let e = abs(Double(a[i]) - Double(g[i]))
        let err = e.isNaN ? Double.infinity : e
        worst = max(worst, err)
        errors.append((i, err))
    }
    let relative = rms > 0 ? worst / rms : worst
    if ProcessInfo.processInfo.environment["REFERSTREAM_PRINT_PARITY"] != nil {
        print("parity \(name): max|Δ|/RMS = \(relative)")
    }
    if relative > tolerance {
        let top = errors.sorted { $0.1 > $1.1 }.prefix(5).map { (i, e) -> String in
            "\(index(i, shape: golden.shape)): swift \(a[i]) golden \(g[i]) |Δ| \(e)"
        }
        Issue.record("\(name): max|Δ| \(worst) = \(relative) × RMS \(rms) > \(tolerance); worst: \(top.joined(separator: "; "))",
                     sourceLocation: sourceLocation)
    }
}

/// max|Δ| / RMS(golden), for reporting.
func relativeError(_ actual: Tensor, _ golden: Tensor) -> Double {
    let a = actual.scalars, g = golden.scalars
    var sumSq = 0.0, worst = 0.0
    for i in 0..<g.count {
        sumSq += Double(g[i]) * Double(g[i])
        worst = max(worst, abs(Double(a[i]) - Double(g[i])))
    }
    return worst / max((sumSq / Double(max(g.count, 1))).squareRoot(), 1e-30)
}

private func index(_ flat: Int, shape: [Int]) -> [Int] {
    var rest = flat
    var out = [Int](repeating: 0, count: shape.count)
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
        out[d] = rest % max(shape[d], 1)
        rest /= max(shape[d], 1)
    }
    return out
}
