import Checkpoint
import Foundation
import Tensor
import Testing
import TestSupport

@testable import ReferFormer

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

/// `max|actual − golden| ≤ tolerance × RMS(golden)` (golden README §6), with TestSupport's comparator,
/// reporting the worst elements.
func expectClose(_ actual: Tensor, _ golden: Tensor, tolerance: Double, _ name: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    let comparison = Comparison(actual, golden, tolerance: tolerance)
    if ProcessInfo.processInfo.environment["REFERSTREAM_PRINT_PARITY"] != nil {
        print("parity \(name): max|Δ|/RMS = \(comparison.relativeError)")
    }
    if !comparison.passed {
        Issue.record("\(name): \(comparison)", sourceLocation: sourceLocation)
    }
}
