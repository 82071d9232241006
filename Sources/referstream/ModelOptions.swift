import ArgumentParser
import Foundation
import ReferFormer
import Tensor
import Tokenizer

/// Options shared by the commands that run the network (`infer`, `segment`).
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The ReferFormer weights: an official checkpoint (.pth, legacy or zip) or a safetensors file.",
        valueName: "file"))
    var weights: String

    @Option(name: .customLong("model-config"), help: ArgumentHelp(
        "A JSON file with the official option names (hidden_dim, enc_layers, …). Without it the architecture is inferred from the weights; with it, a conflict with the weights is an error.",
        valueName: "file"))
    var modelConfig: String?

    @Option(help: ArgumentHelp(
        "A folder with vocab.json and merges.txt (roberta-base's files) or tokenizer.json, or a tokenizer.json file.",
        valueName: "dir"))
    var tokenizer: String

    @Option(help: ArgumentHelp("Threads for the matrix products (OpenBLAS); at least 1.", valueName: "n"))
    var threads: Int?

    /// Checks the options that the parser cannot (as `error:` lines, like every other model error).
    func check() throws {
        if let threads, threads < 1 { throw CLIError("--threads must be at least 1, got \(threads)") }
    }

    /// Loads the tokenizer and the model, reporting what was loaded on standard error.
    func load() throws -> (RobertaTokenizer, ReferFormerModel) {
        try check()
        if let threads { TensorRuntime.defaultThreadCount = threads }
        let tokenizer: RobertaTokenizer
        do {
            tokenizer = try RobertaTokenizer(directory: URL(fileURLWithPath: self.tokenizer))
        } catch {
            throw CLIError("cannot load the tokenizer: \(error)")
        }
        let start = ContinuousClock.now
        let model: ReferFormerModel
        do {
            model = try ReferFormerModel.load(weights: URL(fileURLWithPath: weights), configurationFile: modelConfig.map { URL(fileURLWithPath: $0) })
        } catch {
            throw CLIError("\(error)")
        }
        let c = model.configuration
        let backbone: String
        if let swin = c.backbone.swin {
            backbone = "\(swin.video ? "Video-Swin" : "Swin") \(swin.officialName ?? "custom") (embed \(swin.embedDim), depths \(swin.depths.map(String.init).joined(separator: ",")))"
        } else {
            backbone = "ResNet \(c.backbone.layers.map(String.init).joined(separator: ",")) (width \(c.backbone.widthPerGroup))"
        }
        printError(String(format: "loaded %@ in %.2f s: %@, hidden %d, %d+%d layers, %d queries, text encoder %d layers (vocabulary %d); OpenBLAS %@, %d threads",
                          (weights as NSString).lastPathComponent, (ContinuousClock.now - start).seconds, backbone,
                          c.hiddenDim, c.encLayers, c.decLayers, c.numQueries, c.textEncoder.numHiddenLayers,
                          c.textEncoder.vocabSize, TensorRuntime.kernelName, TensorRuntime.threadCount))
        return (tokenizer, model)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
