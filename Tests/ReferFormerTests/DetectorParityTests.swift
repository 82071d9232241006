import Tensor
import Testing
import TestSupport

@testable import ReferFormer

/// Parity of the detection path with the official model (golden README §3, tolerances §6, tiny column).
@Suite("ReferFormer detector parity with the official tiny model")
struct DetectorParityTests {
    static let cases = ["case_1", "case_2"]

    @Test("backbone res2..res5 from the normalised frames", arguments: cases)
    func backbone(_ name: String) throws {
        let model = try TinyModel.get()
        let golden = try GoldenCase(name)
        let features = model.backbone(try golden.tensor("input.frames"))
        for (i, level) in ["res2", "res3", "res4", "res5"].enumerated() {
            expectClose(features.levels[i], try golden.tensor("backbone.\(level)"), tolerance: 3e-4, "\(name) backbone.\(level)")
        }
    }

    @Test("2-D and 1-D position encodings", arguments: cases)
    func positions(_ name: String) throws {
        let model = try TinyModel.get()
        let golden = try GoldenCase(name)
        for key in ["pos.res3", "pos.res4", "pos.res5", "pos.extra"] {
            let g = try golden.tensor(key)
            expectClose(model.positionEncoding(height: g.shape[2], width: g.shape[3]), g, tolerance: 1e-5, "\(name) \(key)")
        }
        let text = try golden.tensor("text.pos")  // (1, C, L)
        let mine = model.textPositionEncoding(tokenCount: text.shape[2]).permuted([1, 2, 0]).contiguous()
        expectClose(mine, text, tolerance: 1e-5, "\(name) text.pos")
    }

    @Test("input projections and fusion from the golden backbone features", arguments: cases)
    func fusion(_ name: String) throws {
        let model = try TinyModel.get()
        let golden = try GoldenCase(name)
        let features = BackboneFeatures(levels: try ["res2", "res3", "res4", "res5"].map { try golden.tensor("backbone.\($0)") })
        let projected = model.project(features)
        let fused = model.fuse(projected, text: try golden.text())
        for l in 0..<4 {
            expectClose(projected.levels[l], try golden.tensor("fusion.proj.l\(l)"), tolerance: 3e-4, "\(name) fusion.proj.l\(l)")
            expectClose(fused[l], try golden.tensor("fusion.out.l\(l)"), tolerance: 3e-4, "\(name) fusion.out.l\(l)")
        }
    }

    @Test("deformable encoder from the golden fused sources", arguments: cases)
    func encoder(_ name: String) throws {
        let model = try TinyModel.get()
        let golden = try GoldenCase(name)
        let encoded = model.encode(sources: try (0..<4).map { try golden.tensor("fusion.out.l\($0)") })
        let shapes = try golden.ints("encoder.spatial_shapes")
        #expect(encoded.layout.shapes.flatMap { [$0.h, $0.w] } == shapes, "spatial shapes \(encoded.layout.shapes) vs \(shapes)")
        #expect(encoded.layout.startIndex == (try golden.ints("encoder.level_start_index")))
        let ref = try golden.tensor("encoder.reference_points")  // (T, S, 4, 2): the same for all levels/frames
        let mine = encoderReferencePoints(layout: encoded.layout).unsqueezed(2).expanded(to: ref.shape).contiguous()
        expectClose(mine, ref, tolerance: 1e-5, "\(name) encoder.reference_points")
        expectClose(encoded.layers[0], try golden.tensor("encoder.layer0"), tolerance: 3e-4, "\(name) encoder.layer0")
        expectClose(encoded.memory, try golden.tensor("encoder.memory"), tolerance: 3e-4, "\(name) encoder.memory")
    }

    @Test("decoder, box refinement and heads from the golden encoder memory", arguments: cases)
    func decoder(_ name: String) throws {
        let model = try TinyModel.get()
        let golden = try GoldenCase(name)
        let sources = try (0..<4).map { try golden.tensor("fusion.out.l\($0)") }
        let layout = LevelLayout(shapes: sources.map { (h: $0.shape[2], w: $0.shape[3]) })
        let encoded = EncoderOutput(sources: sources, layers: [try golden.tensor("encoder.memory")], layout: layout)
        let decoded = model.decode(encoded, text: try golden.text())
        checkDecoder(decoded, golden)
    }

    @Test("end to end from the normalised frames and golden text features", arguments: cases)
    func endToEnd(_ name: String) throws {
        let model = try TinyModel.get()
        let golden = try GoldenCase(name)
        let features = model.backbone(try golden.tensor("input.frames"))
        let (encoded, decoded) = model.run(features, text: try golden.text())
        for l in 0..<4 {
            expectClose(encoded.sources[l], try golden.tensor("fusion.out.l\(l)"), tolerance: 3e-4, "\(name) fusion.out.l\(l)")
        }
        expectClose(encoded.layers[0], try golden.tensor("encoder.layer0"), tolerance: 3e-4, "\(name) encoder.layer0")
        expectClose(encoded.memory, try golden.tensor("encoder.memory"), tolerance: 3e-4, "\(name) encoder.memory")
        checkDecoder(decoded, golden)
    }

    func checkDecoder(_ decoded: DecoderOutput, _ golden: GoldenCase) {
        let name = golden.name
        do {
            expectClose(decoded.initReference, try golden.tensor("decoder.init_reference"), tolerance: 1e-5, "\(name) decoder.init_reference")
            let layers = decoded.hs.count
            for i in 0..<layers {
                expectClose(decoded.samplingLocations[i], try golden.tensor("decoder.layer\(i).sampling_locations"), tolerance: 1e-4,
                            "\(name) decoder.layer\(i).sampling_locations")
                expectClose(decoded.attentionWeights[i], try golden.tensor("decoder.layer\(i).attention_weights"), tolerance: 1e-4,
                            "\(name) decoder.layer\(i).attention_weights")
            }
            expectClose(Tensor.stack(decoded.hs, axis: 0), try golden.tensor("decoder.hs"), tolerance: 1e-4, "\(name) decoder.hs")
            expectClose(Tensor.stack(decoded.interReferences, axis: 0), try golden.tensor("decoder.inter_references"), tolerance: 1e-4,
                        "\(name) decoder.inter_references")
            expectClose(decoded.predLogits.unsqueezed(0), try golden.tensor("output.pred_logits"), tolerance: 1e-4, "\(name) output.pred_logits")
            expectClose(decoded.predBoxes.unsqueezed(0), try golden.tensor("output.pred_boxes"), tolerance: 1e-4, "\(name) output.pred_boxes")
            expectClose(decoded.referencePoints.unsqueezed(0), try golden.tensor("output.reference_points"), tolerance: 1e-4,
                        "\(name) output.reference_points")
            let aux = layers - 1
            expectClose(Tensor.stack(decoded.logits.prefix(aux).map { $0.unsqueezed(0) }, axis: 0), try golden.tensor("aux_outputs.pred_logits"),
                        tolerance: 1e-4, "\(name) aux_outputs.pred_logits")
            expectClose(Tensor.stack(decoded.boxes.prefix(aux).map { $0.unsqueezed(0) }, axis: 0), try golden.tensor("aux_outputs.pred_boxes"),
                        tolerance: 1e-4, "\(name) aux_outputs.pred_boxes")
        } catch {
            Issue.record("\(name): \(error)")
        }
    }
}

extension DetectorParityTests {
    @Test("frames are independent: one frame at a time equals the batched clip, and a cached backbone is reused")
    func perFrame() throws {
        let model = try TinyModel.get()
        let golden = try GoldenCase("case_2")
        let text = try golden.text()
        let features = model.backbone(try golden.tensor("input.frames"))
        let (encoded, decoded) = model.run(features, text: text)
        var singles: [BackboneFeatures] = []
        for t in 0..<features.frameCount {
            let single = model.backbone(try golden.tensor("input.frames").sliced(0, t..<(t + 1)))
            singles.append(single)
            let (e, d) = model.run(single, text: text)
            expectClose(e.memory, encoded.frames(t..<(t + 1)).memory.contiguous(), tolerance: 1e-5, "frame \(t) memory")
            expectClose(d.predBoxes, decoded.frames(t..<(t + 1)).predBoxes.contiguous(), tolerance: 1e-5, "frame \(t) boxes")
            expectClose(d.predLogits, decoded.frames(t..<(t + 1)).predLogits.contiguous(), tolerance: 1e-5, "frame \(t) logits")
        }
        // Reassembled per-frame backbone features give the batched result (the cache path of a daemon).
        let cached = BackboneFeatures.concatenating(singles)
        let (_, again) = model.run(cached, text: text)
        expectClose(again.predBoxes, decoded.predBoxes, tolerance: 1e-5, "reassembled boxes")
        expectClose(again.predBoxes.unsqueezed(0), try golden.tensor("output.pred_boxes"), tolerance: 1e-4, "reassembled vs golden")
    }
}
