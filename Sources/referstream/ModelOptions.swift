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

    @Option(help: ArgumentHelp("Threads for the tensor ops and matrix products.", valueName: "n"))
    var threads: Int?

    /// Loads the tokenizer and the model, reporting what was loaded on standard error.
    func load() throws -> (RobertaTokenizer, ReferFormerModel) {
        TensorRuntime.restartWithFastestKernelIfNeeded()
        if let threads { TensorRuntime.defaultThreadCount = threads }
        let tokenizer: RobertaTokenizer
        do {
            tokenizer = try TokenizeCommand.loadTokenizer(self.tokenizer)
        } catch {
            throw CLIError("cannot load the tokenizer: \(error)")
        }
        var configuration: ReferFormerConfiguration?
        if let modelConfig {
            do {
                configuration = try ReferFormerConfiguration(contentsOf: URL(fileURLWithPath: modelConfig))
            } catch {
                throw CLIError(error.message)
            }
        }
        let start = ContinuousClock.now
        let model: ReferFormerModel
        do {
            model = try ReferFormerModel.load(weights: URL(fileURLWithPath: weights), configuration: configuration)
        } catch {
            throw CLIError("\(error)")
        }
        let c = model.configuration
        printError(String(format: "loaded %@ in %.2f s: ResNet %@ (width %d), hidden %d, %d+%d layers, %d queries, text encoder %d layers (vocabulary %d); OpenBLAS %@, %d threads",
                          (weights as NSString).lastPathComponent, (ContinuousClock.now - start).seconds,
                          c.backbone.layers.map(String.init).joined(separator: ","), c.backbone.widthPerGroup,
                          c.hiddenDim, c.encLayers, c.decLayers, c.numQueries, c.textEncoder.numHiddenLayers,
                          c.textEncoder.vocabSize, TensorRuntime.kernelName, TensorRuntime.threadCount))
        return (tokenizer, model)
    }

    /// Token ids of `text` for `model`, with a message that says what to do when it does not fit.
    static func ids(_ text: String, tokenizer: RobertaTokenizer, model: ReferFormerModel) throws -> [Int] {
        do {
            return try tokenizer.encode(text, maxLength: model.configuration.textEncoder.maxTokens).ids.map(Int.init)
        } catch {
            throw CLIError("the phrase \(jsonString(String(text.prefix(60)))) cannot be used: \(error)")
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
