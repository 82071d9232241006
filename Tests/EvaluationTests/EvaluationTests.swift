import Evaluation
import Foundation
import Testing

/// Tests/Fixtures/evaluation: masks and the figures the DAVIS-2017 evaluation code gives for them
/// (written by tools/demo/make_evaluation_fixtures.py; provenance in expected.json "source").
enum EvaluationFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/evaluation")
    static let annotations = root.appendingPathComponent("annotations")
    static let predictions = root.appendingPathComponent("predictions")

    static func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent("expected.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

@Suite("DAVIS-2017 evaluation")
struct EvaluationTests {
    @Test("per-frame J and F and the per-object statistics match davis2017-evaluation to 1e-6")
    func perFrame() throws {
        let expected = try #require(try EvaluationFixtures.expected()["objects"] as? [String: [String: Any]])
        let results = try DAVISEvaluation.evaluate(predictions: EvaluationFixtures.predictions,
                                                   annotations: EvaluationFixtures.annotations)
        #expect(Set(results.map(\.key)) == Set(expected.keys))
        for r in results {
            let e = try #require(expected[r.key])
            let j = try #require(e["J"] as? [Double]), f = try #require(e["F"] as? [Double])
            #expect(r.regionSimilarity.count == j.count && r.contourAccuracy.count == f.count, "\(r.key)")
            for (mine, theirs) in zip(r.regionSimilarity, j) { #expect(abs(mine - theirs) <= 1e-6, "\(r.key) J \(mine) vs \(theirs)") }
            for (mine, theirs) in zip(r.contourAccuracy, f) { #expect(abs(mine - theirs) <= 1e-6, "\(r.key) F \(mine) vs \(theirs)") }
            for (name, mine) in [("J-Mean", r.j.mean), ("J-Recall", r.j.recall), ("J-Decay", r.j.decay),
                                 ("F-Mean", r.f.mean), ("F-Recall", r.f.recall), ("F-Decay", r.f.decay)] {
                let theirs = try #require(e[name] as? Double)
                #expect(abs(mine - theirs) <= 1e-6, "\(r.key) \(name) \(mine) vs \(theirs)")
            }
        }
    }

    @Test("the semi-supervised protocol (first and last frames left out) gives DAVISEvaluation's global table")
    func semiSupervised() throws {
        let expected = try #require(try EvaluationFixtures.expected()["semi_supervised"] as? [String: Any])
        let sequences = Set(try #require(expected["sequences"] as? [String]))
        let results = try DAVISEvaluation.evaluate(predictions: EvaluationFixtures.predictions,
                                                   annotations: EvaluationFixtures.annotations,
                                                   options: EvaluationOptions(skipFirstAndLastFrames: true))
            .filter { sequences.contains($0.sequence) }
        let s = Summary(results)
        for (name, mine) in [("J&F-Mean", s.jAndFMean), ("J-Mean", s.jMean), ("J-Recall", s.jRecall), ("J-Decay", s.jDecay),
                             ("F-Mean", s.fMean), ("F-Recall", s.fRecall), ("F-Decay", s.fDecay)] {
            let theirs = try #require(expected[name] as? Double)
            #expect(abs(mine - theirs) <= 1e-6, "\(name) \(mine) vs \(theirs)")
        }
        let jPer = try #require(expected["J_per_object"] as? [String: Double])
        let fPer = try #require(expected["F_per_object"] as? [String: Double])
        #expect(results.count == jPer.count)
        for r in results {
            let name = "\(r.sequence)_\(r.object)"   // evaluation.py names objects seq_1, seq_2, …
            #expect(abs(r.j.mean - (jPer[name] ?? .nan)) <= 1e-6, "\(name) J")
            #expect(abs(r.f.mean - (fPer[name] ?? .nan)) <= 1e-6, "\(name) F")
        }
    }

    @Test("DAVIS tolerance: ceil(0.008 × diagonal) pixels, e.g. 8 at 854×480")
    func tolerance() {
        #expect(Metrics.boundaryTolerance(width: 854, height: 480) == 8)   // 0.008 × 979.7 = 7.84
        #expect(Metrics.boundaryTolerance(width: 320, height: 240) == 4)   // 0.008 × 400 = 3.2
        #expect(Metrics.boundaryTolerance(width: 80, height: 60) == 1)     // 0.008 × 100 = 0.8
        #expect(Metrics.boundaryTolerance(width: 80, height: 60, threshold: 3) == 3)
    }

    @Test("a missing prediction is an error that names the file")
    func missingPrediction() throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("evaluation-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temp) }
        try FileManager.default.copyItem(at: EvaluationFixtures.predictions, to: temp)
        let removed = temp.appendingPathComponent("expressions/1/00002.png")
        try FileManager.default.removeItem(at: removed)
        do {
            _ = try DAVISEvaluation.evaluate(predictions: temp, annotations: EvaluationFixtures.annotations)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .mismatch)
            #expect(error.message.contains("expressions/1/00002.png"))
        }
    }

    @Test("a file that is not a PNG is reported as such")
    func notPNG() {
        #expect(throws: EvaluationError.self) { try PNGReader.decode(Array("not a png".utf8)) }
        do {
            _ = try PNGReader.decode([137, 80, 78, 71, 13, 10, 26, 10])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .png)
        }
    }
}
