import Checkpoint
import Foundation
import TestSupport
import Testing

/// `referstream infer --intermediates` on the official Swin / Video-Swin tiny models (golden README §8):
/// the architecture is inferred from the weights alone (no --model-config), and every tensor written
/// under a golden name matches, including the backbone's inner stages.
@Suite("referstream infer with Swin and Video-Swin backbones")
struct SwinInferCommandTests {
    /// The complete official state dict of a §8 folder as one safetensors file: the tiny model without
    /// its `backbone.` keys, plus the folder's overlay.
    static func mergedWeights(_ folder: String, in directory: URL) throws -> URL {
        let overlay = try SafeTensors(contentsOf: fixture("\(folder)/weights_overlay.safetensors"))
        let base = try SafeTensors(contentsOf: fixture("referformer-tiny/weights.safetensors"))
        var items = base.tensors.filter { !$0.name.hasPrefix("backbone.") && overlay[$0.name] == nil }.map { SafeTensors.Item($0) }
        items += overlay.tensors.map { SafeTensors.Item($0) }
        let url = directory.appendingPathComponent("\(folder).safetensors")
        try SafeTensors.write(items, to: url)
        return url
    }

    @Test("outputs and every intermediate equal the golden tensors", arguments: [
        ("referformer-swin-tiny", "case_1"), ("referformer-swin-tiny", "case_2"),
        ("referformer-videoswin-tiny", "case_1"), ("referformer-videoswin-tiny", "case_2"),
    ])
    func parity(_ folder: String, _ name: String) throws {
        let directory = try temporaryDirectory("swin-infer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = try Self.mergedWeights(folder, in: directory)
        let golden = try SafeTensors(contentsOf: fixture("\(folder)/\(name).safetensors"))
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture("\(folder)/\(name).json"))) as? [String: Any]
        let caption = try #require(meta?["caption"] as? String)
        let size = try #require(meta?["original_size_hw"] as? [Int])
        let out = directory.appendingPathComponent("out.safetensors")
        let result = try runReferstream([
            "infer", "--weights", weights.path, "--tokenizer", fixture("tokenizer").path,
            "--frames", fixture("\(folder)/\(name).safetensors").path, "--frames-key", "input.frames",
            "--caption", caption, "--original-size", "\(size[0]),\(size[1])", "--output", out.path, "--intermediates",
        ])
        #expect(result.status == 0, "\(result)")
        let compared = try expectGoldenOutputs(try SafeTensors(contentsOf: out), golden, "\(folder) \(name)")
        var backbone = ["backbone.patch_embed", "backbone.stage0.block0", "backbone.stage2.merged", "backbone.res2", "backbone.res5"]
        if folder == "referformer-swin-tiny" { backbone.append("backbone.stage3.blocks") }
        for key in backbone { #expect(compared.contains(key), "\(folder) \(name): \(key) not written") }
        #expect(compared.count >= 55, "\(folder) \(name): only \(compared.count) golden tensors compared")
    }
}

/// Compares every tensor `infer` wrote under a golden name with the golden one (tolerances of the golden
/// README §6 as `InferCommandTests.tolerance`; integer tensors and inputs exactly; `post.mask` wherever
/// the golden logit is more than 1e-3 from the threshold) and returns the names compared.
func expectGoldenOutputs(_ produced: SafeTensors, _ golden: SafeTensors, _ label: String) throws -> [String] {
    var compared: [String] = []
    for key in produced.names where golden[key] != nil {
        let a = try #require(produced[key]), g = try #require(golden[key])
        #expect(a.shape == g.shape, "\(label) \(key): shape \(a.shape) vs golden \(g.shape)")
        guard a.shape == g.shape else { continue }
        let x = try InferCommandTests.values(a), y = try InferCommandTests.values(g)
        if key == "post.mask" {
            let logits = try InferCommandTests.values(try #require(golden["post.mask_logits"]))
            let differing = zip(zip(x, y), logits).filter { $0.0.0 != $0.0.1 && abs($0.1) > 1e-3 }.count
            #expect(differing == 0, "\(label): \(differing) mask pixels differ")
        } else if !a.dtype.isFloatingPoint || key.hasPrefix("input.") {
            #expect(x == y, "\(label) \(key): \(x.prefix(8)) vs \(y.prefix(8))")
        } else {
            let rms = (y.reduce(0) { $0 + $1 * $1 } / Double(max(y.count, 1))).squareRoot()
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= InferCommandTests.tolerance(key) * max(rms, 1e-12), "\(label) \(key): max|Δ| \(worst), rms \(rms)")
        }
        compared.append(key)
    }
    return compared
}
