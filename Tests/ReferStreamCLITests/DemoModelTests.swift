import Foundation
import TestSupport
import Testing

/// The bundled demo model (models/demo) is what `referstream segment` runs without --weights, at the
/// size it was trained at, and it segments the object each phrase names in the demo clip
/// (models/demo/demo-clip: the validation renderer, never used in training), scored by `referstream
/// evaluate` against the clip's ground truth.
@Suite("Demo model: the default of segment, following the phrase on the demo clip")
struct DemoModelTests {
    static let clip = packageRoot.appendingPathComponent("models/demo/demo-clip")

    @Test("no --weights: the bundled model at its trained size; each phrase's mask is on its own object")
    func followsThePhrase() throws {
        let directory = try temporaryDirectory("demo-model")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out")
        let phrases = ["the red circle": "big-red-circle", "the small blue square": "small-blue-square", "the yellow star": "small-yellow-star"]
        let texts = phrases.keys.sorted()
        let frames = 6
        let segmented = try runReferstream(["segment", "--input", Self.clip.appendingPathComponent("clip.mp4").path,
                                            "--output", out.path, "--frames", "\(frames)", "--threads", "2"]
                                           + texts.flatMap { ["--text", $0] })
        #expect(segmented.status == 0, "\(segmented)")
        #expect(segmented.stderr.contains("no --weights: using the bundled model (source checkout: \(packageRoot.appendingPathComponent("models/demo").path))"),
                "\(segmented.stderr)")
        let config = try Data(contentsOf: packageRoot.appendingPathComponent("models/demo/config.json"))
        let note = try #require((try JSONSerialization.jsonObject(with: config) as? [String: Any])?["training"] as? [String: Any])
        let side = min(try #require(note["input_height"] as? Int), try #require(note["input_width"] as? Int))
        #expect(segmented.stderr.contains("input: shorter side \(side) px (the size the model was trained at)"), "\(segmented.stderr)")

        // Score every phrase against every object: p<k> must match its own object, not the others.
        let truth = directory.appendingPathComponent("truth"), predictions = directory.appendingPathComponent("pred")
        var groups: [String: String] = [:]
        for (k, text) in texts.enumerated() {
            for (other, object) in phrases {
                let name = "p\(k + 1)-\(object)"
                groups["demo/\(name)"] = other == text ? "own" : "other"
                for folder in [truth, predictions] {
                    try FileManager.default.createDirectory(at: folder.appendingPathComponent("demo/\(name)"), withIntermediateDirectories: true)
                }
                for f in 0..<frames {
                    let png = String(format: "%05d.png", f)
                    try FileManager.default.copyItem(at: Self.clip.appendingPathComponent("masks/\(object)/\(png)"),
                                                     to: truth.appendingPathComponent("demo/\(name)/\(png)"))
                    try FileManager.default.copyItem(at: out.appendingPathComponent("p\(k + 1)/\(png)"),
                                                     to: predictions.appendingPathComponent("demo/\(name)/\(png)"))
                }
            }
        }
        let groupsFile = directory.appendingPathComponent("groups.json")
        try JSONSerialization.data(withJSONObject: groups).write(to: groupsFile)
        let json = directory.appendingPathComponent("evaluation.json")
        let scored = try runReferstream(["evaluate", "--predictions", predictions.path, "--annotations", truth.path,
                                         "--groups", groupsFile.path, "--json", json.path, "--quiet"])
        #expect(scored.status == 0, "\(scored)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        let objects = try #require(report["objects"] as? [[String: Any]])
        #expect(objects.count == 9)
        for object in objects {
            let name = try #require(object["object"] as? String), j = try #require(object["J"] as? Double)
            if groups["demo/\(name)"] == "own" {
                #expect(j > 0.5, "\(name): J \(j) on the object the phrase names")
            } else {
                #expect(j < 0.1, "\(name): J \(j) on an object the phrase does not name")
            }
        }
    }

    @Test("no model found, or weights without a tokenizer: one error line that says what to give")
    func missingModelFiles() throws {
        let directory = try temporaryDirectory("demo-model-missing")
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = try #require(builtProduct("referstream"))
        var environment = ProcessInfo.processInfo.environment
        environment["REFERSTREAM_MODEL_DIR"] = directory.appendingPathComponent("empty").path
        let arguments = ["segment", "--input", Self.clip.appendingPathComponent("clip.mp4").path, "--output",
                         directory.appendingPathComponent("out").path, "--text", "the red circle", "--frames", "1"]
        let none = try run(binary, arguments, environment: environment)
        #expect(none.status == 1, "\(none)")
        #expect(none.stderr.contains("error: no --weights given and no bundled model (looked for \(directory.path)/empty/weights.safetensors ($REFERSTREAM_MODEL_DIR)): give --weights FILE --tokenizer DIR"),
                "\(none.stderr)")
        // Weights in a folder without tokenizer files (the tiny test weights' folder has none).
        let bare = try runReferstream(arguments + ["--weights", fixture("referformer-tiny/weights.safetensors").path])
        #expect(bare.status == 1, "\(bare)")
        #expect(bare.stderr.contains("error: no --tokenizer given and \(fixture("referformer-tiny").path) holds no tokenizer"), "\(bare.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out").path), "nothing is written")
    }
}
