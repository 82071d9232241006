import Checkpoint
import Foundation
import TestSupport
import Testing

/// `referstream infer` through the built binary: every tensor it writes under a golden name matches the
/// official model's (tolerances of the golden README §6), and bad invocations fail with one message.
@Suite("referstream infer")
struct InferCommandTests {
    static func tolerance(_ name: String) -> Double {
        if name.hasPrefix("pos.") || name == "decoder.init_reference" { return 1e-5 }
        if name.hasPrefix("text.") || name.hasPrefix("decoder.") || name.hasPrefix("mask_head.")
            || name.hasSuffix("pred_logits") || name.hasSuffix("pred_boxes") || name.hasPrefix("post.scores")
            || name.hasSuffix("reference_points") { return 1e-4 }
        return 3e-4
    }

    static func values(_ record: TensorRecord) throws -> [Double] {
        record.dtype.isFloatingPoint ? try record.floats().map(Double.init) : try record.int64s().map(Double.init)
    }

    @Test("outputs and intermediates equal the golden tensors", arguments: [("case_1", "83,123"), ("case_2", "47,70")])
    func parity(_ name: String, _ originalSize: String) throws {
        let directory = try temporaryDirectory("infer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let golden = try SafeTensors(contentsOf: fixture("referformer-tiny/\(name).safetensors"))
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture("referformer-tiny/\(name).json"))) as? [String: Any]
        let caption = try #require(meta?["caption"] as? String)
        let out = directory.appendingPathComponent("out.safetensors")
        let result = try runReferstream([
            "infer", "--weights", fixture("referformer-tiny/weights.safetensors").path, "--tokenizer", fixture("tokenizer").path,
            "--frames", fixture("referformer-tiny/\(name).safetensors").path, "--frames-key", "input.frames",
            "--caption", caption, "--original-size", originalSize, "--output", out.path, "--intermediates",
        ])
        #expect(result.status == 0, "\(result)")
        let produced = try SafeTensors(contentsOf: out)
        var compared = 0
        for key in produced.names where golden[key] != nil {
            let a = try #require(produced[key]), g = try #require(golden[key])
            #expect(a.shape == g.shape, "\(name) \(key): shape \(a.shape) vs golden \(g.shape)")
            guard a.shape == g.shape else { continue }
            let x = try Self.values(a), y = try Self.values(g)
            if key == "post.mask" {
                // Equal wherever the logit is not within 1e-3 of the threshold (README §6).
                let logits = try Self.values(try #require(golden["post.mask_logits"]))
                let differing = zip(zip(x, y), logits).filter { $0.0.0 != $0.0.1 && abs($0.1) > 1e-3 }.count
                #expect(differing == 0, "\(name): \(differing) mask pixels differ")
            } else if !a.dtype.isFloatingPoint || key.hasPrefix("input.") {
                #expect(x == y, "\(name) \(key): \(x.prefix(8)) vs \(y.prefix(8))")
            } else {
                let rms = (y.reduce(0) { $0 + $1 * $1 } / Double(max(y.count, 1))).squareRoot()
                let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= Self.tolerance(key) * max(rms, 1e-12), "\(name) \(key): max|Δ| \(worst), rms \(rms)")
            }
            compared += 1
        }
        #expect(compared >= 55, "\(name): only \(compared) golden tensors compared: \(produced.names)")
    }

    @Test("bad invocations fail with one clear message")
    func errors() throws {
        let weights = fixture("referformer-tiny/weights.safetensors").path, tokenizer = fixture("tokenizer").path
        let frames = fixture("referformer-tiny/case_2.safetensors").path
        let cases: [([String], String)] = [
            (["--weights", "/nonexistent.pth", "--tokenizer", tokenizer, "--frames", frames, "--frames-key", "input.frames"], "/nonexistent.pth"),
            (["--weights", weights, "--tokenizer", tokenizer, "--frames", frames], "has no tensor 'frames'"),
            (["--weights", weights, "--tokenizer", tokenizer, "--frames", frames, "--frames-key", "text.input_ids"], "must be (T, 3, H, W)"),
            (["--weights", frames, "--tokenizer", tokenizer, "--frames", frames, "--frames-key", "input.frames"], "weights"),
            (["--weights", weights, "--tokenizer", "/nonexistent", "--frames", frames, "--frames-key", "input.frames"], "tokenizer"),
        ]
        for (arguments, message) in cases {
            let result = try runReferstream(["infer"] + arguments + ["--caption", "a dog", "--output", "/tmp/referstream-never-written.safetensors"])
            #expect(result.status == 1, "\(arguments): \(result)")
            #expect(result.stderr.contains("error:") && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/referstream-never-written.safetensors"))
    }
}
