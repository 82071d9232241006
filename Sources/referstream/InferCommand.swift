import ArgumentParser
import Checkpoint
import Foundation
import ReferFormer
import Tensor
import Tokenizer

/// `referstream infer`: the network on already-normalised frames, outputs (and intermediates) under the
/// golden names, so that anyone can check parity against the official code.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run ReferFormer on normalised frames and write its outputs to safetensors.",
        discussion: """
            Reads a T×3×H×W float tensor of frames that are already resized and ImageNet-normalised (as \
            the official inference scripts feed the model) and one caption, runs the whole network as \
            one clip, and writes: output.pred_logits (1,T,Q,1), output.pred_boxes (1,T,Q,4), \
            output.pred_masks (1,T,Q,H/4,W/4), output.reference_points, post.scores (Q) and \
            post.query_index (the official inference_ytvos.py choice); with --original-size also \
            post.mask_logits (T,oh,ow) and post.mask (T,oh,ow, 0/1 bytes). With --intermediates, every \
            intermediate tensor too, under the names of the golden reference data (backbone.res2, \
            text.word_features, fusion.out.l0, encoder.memory, decoder.hs, pixel_decoder.mask_features, …).

            The tokenizer must be the one the weights were trained with: a tokenizer with more ids than \
            the model's text embedding has rows is refused; one with fewer gets a warning.

            Exit status: 0 written; 1 the weights, configuration, tokenizer, frames, phrase or output \
            cannot be used (one line on standard error says why and what to do); 64 bad arguments.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("A safetensors file holding the frames (T, 3, H, W).", valueName: "file"))
    var frames: String

    @Option(name: .customLong("frames-key"), help: ArgumentHelp("The tensor in --frames to read (the golden cases call it input.frames).", valueName: "name"))
    var framesKey = "frames"

    @Option(help: ArgumentHelp("The referring phrase.", valueName: "text"))
    var caption: String

    @Option(name: .customLong("original-size"), help: ArgumentHelp(
        "Height,width of the original video frames: also write the chosen query's masks at that size.", valueName: "h,w"))
    var originalSize: String?

    @Option(help: ArgumentHelp("The safetensors file to write (replaced if it exists).", valueName: "file"))
    var output: String

    @Flag(help: "Also write every intermediate tensor.")
    var intermediates = false

    func validate() throws {
        if let originalSize, Self.parseSize(originalSize) == nil {
            throw ValidationError("--original-size takes height,width in pixels, e.g. 720,1280")
        }
    }

    static func parseSize(_ text: String) -> (height: Int, width: Int)? {
        let parts = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 && $0 <= 16384 }) else { return nil }
        return (parts[0], parts[1])
    }

    func run() throws {
        do {
            try infer()
        } catch let error as CLIError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    private func infer() throws {
        try checkWritableOutput(output)
        let (tokenizer, model, _) = try self.model.load()
        try Self.checkTokenizer(tokenizer, model: model)
        let clip = try Self.readFrames(frames, key: framesKey)
        let (t, h, w) = (clip.shape[0], clip.shape[2], clip.shape[3])
        let ids = try Self.ids(caption, tokenizer: tokenizer, model: model)

        var items: [(String, Tensor)] = []
        let record: ((String, Tensor) -> Void)? = intermediates ? { items.append(($0, $1)) } : nil
        let start = ContinuousClock.now
        let result: ReferFormerModel.Output
        do {
            let text = try model.encodeText(ids: ids)
            let features = model.backbone(clip, record: record)
            if let record {
                record("text.embeddings", text.roberta.embeddings)
                record("text.last_hidden_state", text.roberta.lastHiddenState)
                record("text.pooler_output", text.roberta.poolerOutput)
                record("text.word_features", text.wordFeatures)
                record("text.sentence_feature", text.sentenceFeature)
                record("text.pos", Tensor.sinePositionEncoding1D(length: ids.count, numPosFeats: model.configuration.hiddenDim))
                for (i, level) in features.levels.enumerated() {
                    record("backbone.res\(i + 2)", level)
                    record("pos.res\(i + 2)", model.detector.positionEncoding(height: level.shape[2], width: level.shape[3]))
                }
                // The stride-64 level: a 3×3 stride-2 convolution of res5 (n → ⌊(n−1)/2⌋+1).
                let (h5, w5) = (features.res5.shape[2], features.res5.shape[3])
                record("pos.extra", model.detector.positionEncoding(height: (h5 - 1) / 2 + 1, width: (w5 - 1) / 2 + 1))
                let c = model.configuration.hiddenDim, q = model.configuration.numQueries
                record("decoder.tgt", text.sentenceFeature.reshaped([1, 1, c]).expanded(to: [t, q, c]).contiguous())
            }
            result = try model.forward(features: features, text: text, imageSize: (h, w), record: record)
        } catch {
            throw CLIError("\(error)")
        }
        let elapsed = (ContinuousClock.now - start).seconds

        items.append(("output.pred_logits", result.predLogits))
        items.append(("output.pred_boxes", result.predBoxes))
        items.append(("output.pred_masks", result.predMasks))
        items.append(("output.reference_points", result.decoder.referencePoints.unsqueezed(0)))
        let selection = MaskPostProcessing.selectQuery(predLogits: result.predLogits)
        items.append(("post.scores", Tensor(shape: [selection.scores.count], elements: selection.scores)))
        var extra: [SafeTensors.Item] = [Self.int64Item("post.query_index", [Int64(selection.queryIndex)])]
        if intermediates {
            extra.append(Self.int64Item("text.input_ids", ids.map(Int64.init), shape: [1, ids.count]))
            extra.append(Self.int64Item("text.attention_mask", ids.map { _ in 1 }, shape: [1, ids.count]))
            extra.append(Self.int64Item("input.size", [Int64(h), Int64(w)]))
        }
        if let size = originalSize.flatMap(Self.parseSize) {
            let post = MaskPostProcessing.process(predLogits: result.predLogits, predMasks: result.predMasks, originalSize: size)
            items.append(("post.mask_logits", post.maskLogits))
            extra.append(SafeTensors.Item(name: "post.mask", dtype: .uint8, shape: [t, size.height, size.width], bytes: post.binaryMasks()))
        }
        let url = URL(fileURLWithPath: output)
        do {
            try SafeTensors.write(items.map { Self.floatItem($0.0, $0.1) } + extra, metadata: [
                "producer": "referstream infer", "caption": caption, "input_ids": ids.map(String.init).joined(separator: ","),
            ], to: url)
        } catch let error as CheckpointError {
            throw CLIError("cannot write \(output): \(error.message)")
        } catch {
            throw CLIError("cannot write \(output): \(error)")
        }
        printError(String(format: "%d frames of %dx%d, %d tokens: forward %.2f s; query %d (score %.4f); wrote %d tensors to %@",
                          t, h, w, ids.count, elapsed, selection.queryIndex, selection.scores[selection.queryIndex],
                          items.count + extra.count, output))
    }

    /// Refuses a tokenizer whose ids can exceed the model's text embedding; warns when the sizes differ.
    static func checkTokenizer(_ tokenizer: RobertaTokenizer, model: ReferFormerModel) throws {
        do {
            if let warning = try model.checkTokenizer(tokenizer).warning { printError("warning: \(warning)") }
        } catch {
            throw CLIError(error.message)
        }
    }

    /// The phrase's token ids, or the limit and what to do when it is too long.
    static func ids(_ text: String, tokenizer: RobertaTokenizer, model: ReferFormerModel) throws -> [Int] {
        do {
            return try model.tokenIDs(text, tokenizer: tokenizer)
        } catch {
            throw CLIError("\(error.message): shorten the phrase \(jsonString(String(text.prefix(40))))\(text.count > 40 ? "…" : "") "
                + "(referstream tokenize --tokenizer DIR \"phrase\" shows its tokens)")
        }
    }

    /// Reads `key` from the safetensors file at `path` as a (T, 3, H, W) float tensor.
    static func readFrames(_ path: String, key: String) throws -> Tensor {
        let file: SafeTensors
        do {
            file = try SafeTensors(contentsOf: URL(fileURLWithPath: path))
        } catch let error as CheckpointError where error.code == .unrecognizedFormat {
            throw CLIError("the frames file \(path) is \(error.message): infer reads normalised frames (T, 3, H, W) from a "
                + "safetensors file; segment reads videos and images")
        } catch let error as CheckpointError {
            throw CLIError("cannot read the frames \(path): \(error.message)")
        } catch {
            throw CLIError("cannot read the frames \(path): \(error)")
        }
        guard let record = file[key] else {
            let names = file.names.prefix(8).joined(separator: ", ")
            throw CLIError("\(path) has no tensor '\(key)' (it has: \(names)\(file.names.count > 8 ? ", …" : "")); choose one with --frames-key")
        }
        guard record.shape.count == 4, record.shape[1] == 3, record.shape[0] > 0 else {
            throw CLIError("'\(key)' in \(path) has shape \(record.shape); the frames must be (T, 3, H, W)")
        }
        guard record.dtype.isFloatingPoint else {
            throw CLIError("'\(key)' in \(path) is \(record.dtype.rawValue); the frames must be normalised floats")
        }
        do {
            return Tensor(shape: record.shape, elements: try record.floats())
        } catch {
            throw CLIError("cannot decode '\(key)' in \(path): \(error)")
        }
    }

    static func floatItem(_ name: String, _ tensor: Tensor) -> SafeTensors.Item {
        let bytes = tensor.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
        return SafeTensors.Item(name: name, dtype: .float32, shape: tensor.shape, bytes: bytes)
    }

    static func int64Item(_ name: String, _ values: [Int64], shape: [Int]? = nil) -> SafeTensors.Item {
        SafeTensors.Item(name: name, dtype: .int64, shape: shape ?? [values.count], bytes: values.withUnsafeBytes { Array($0) })
    }
}
