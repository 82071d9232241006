import ArgumentParser
import Foundation
import ReferFormer
import Tensor
import Tokenizer

/// Options shared by the commands that run the network (`infer`, `segment`).
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The ReferFormer weights: an official checkpoint (.pth, legacy or zip) or a safetensors file. Default: the bundled demo model (models/demo; installed under <prefix>/share/referstream/model; $REFERSTREAM_MODEL_DIR overrides), with its tokenizer and configuration.",
        valueName: "file"))
    var weights: String?

    @Option(name: .customLong("model-config"), help: ArgumentHelp(
        "A JSON file with the official option names (hidden_dim, enc_layers, …). Without it the architecture is inferred from the weights (the bundled model brings its own); with it, a conflict with the weights is an error.",
        valueName: "file"))
    var modelConfig: String?

    @Option(help: ArgumentHelp(
        "A folder with vocab.json and merges.txt (roberta-base's files) or tokenizer.json, or a tokenizer.json file. Default: the bundled model's; with --weights, tokenizer/ next to them or their folder, when it has these files.",
        valueName: "dir"))
    var tokenizer: String?

    @Option(help: ArgumentHelp("Threads for the matrix products (OpenBLAS); at least 1.", valueName: "n"))
    var threads: Int?

    /// Checks the options that the parser cannot (as `error:` lines, like every other model error) and
    /// resolves the model files, so a missing model or tokenizer is reported before any input is opened.
    @discardableResult
    func check() throws -> Resolved {
        if let threads, threads < 1 { throw CLIError("--threads must be at least 1, got \(threads)") }
        return try resolve()
    }

    /// What runs: the given files, or the bundled model's where none are given.
    struct Resolved {
        var weights: String
        var tokenizer: String
        var configuration: String?
        /// "the bundled model (source checkout)" etc. when no --weights were given.
        var bundledOrigin: String?
        /// The shorter side the model was trained at (its configuration's `training` note), if known.
        var trainedShorterSide: Int?
    }

    /// Resolves the defaults: without --weights the bundled model (`BundledModel`); without --tokenizer
    /// the bundled model's, or the weights' folder when it holds tokenizer files.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Resolved {
        let bundled = weights == nil ? BundledModel.locate(environment: environment) : nil
        guard let weights = weights ?? bundled?.weights.path else {
            throw CLIError("no --weights given and no bundled model (looked for \(BundledModel.searchedDescription(environment: environment))): give --weights FILE --tokenizer DIR, or install ReferStream (make install) so that its demo model is found")
        }
        // Next to explicit weights: their folder's tokenizer/, else the folder itself (as the daemon does).
        guard let tokenizer = tokenizer ?? bundled?.tokenizer.path ?? BundledModel.tokenizerNextTo(weights: weights) else {
            throw CLIError("no --tokenizer given and \((weights as NSString).deletingLastPathComponent) holds no tokenizer (vocab.json and merges.txt, or tokenizer.json, there or in tokenizer/): give --tokenizer DIR, the tokenizer the weights were trained with")
        }
        let configuration = modelConfig ?? bundled?.configuration?.path
        return Resolved(weights: weights, tokenizer: tokenizer, configuration: configuration,
                        bundledOrigin: bundled.map { "the bundled model (\($0.origin): \($0.directory.path))" },
                        trainedShorterSide: configuration.flatMap { ReferFormerConfiguration.trainedShorterSide(contentsOf: URL(fileURLWithPath: $0)) })
    }

    /// Loads the tokenizer and the model, reporting what was loaded on standard error.
    func load() throws -> (RobertaTokenizer, ReferFormerModel, Resolved) {
        let files = try check()
        if let threads { TensorRuntime.defaultThreadCount = threads }
        if let origin = files.bundledOrigin { printError("no --weights: using \(origin)") }
        let tokenizer: RobertaTokenizer
        do {
            tokenizer = try RobertaTokenizer(directory: URL(fileURLWithPath: files.tokenizer))
        } catch {
            throw CLIError("cannot load the tokenizer: \(error)")
        }
        let start = ContinuousClock.now
        let model: ReferFormerModel
        do {
            model = try ReferFormerModel.load(weights: URL(fileURLWithPath: files.weights), configurationFile: files.configuration.map { URL(fileURLWithPath: $0) })
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
                          (files.weights as NSString).lastPathComponent, (ContinuousClock.now - start).seconds, backbone,
                          c.hiddenDim, c.encLayers, c.decLayers, c.numQueries, c.textEncoder.numHiddenLayers,
                          c.textEncoder.vocabSize, TensorRuntime.kernelName, TensorRuntime.threadCount))
        return (tokenizer, model, files)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
