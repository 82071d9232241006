import Foundation
import ReferFormer
import Tensor
import Tokenizer

/// The model every stream shares, with its tokenizer (both immutable values, safe to read from any
/// thread; each stream's engine holds them by value without copying the weights).
public struct LoadedModel: Sendable {
    public let model: ReferFormerModel
    public let tokenizer: RobertaTokenizer
    public let weightsPath: String
    public let tokenizerPath: String
    /// One line: file, architecture, BLAS kernel and threads, load time.
    public let summary: String

    /// The shorter side the model was trained at (its configuration file's `training` note), nil when
    /// unknown; the daemon runs at it unless `model.shorter_side` is given.
    public let trainedShorterSide: Int?
    /// "the bundled model (source checkout)" etc. when no weights were configured, else nil.
    public let bundledOrigin: String?

    /// "the bundled model, <folder>" (what runs without `model.weights`), or why there is none.
    public static func bundledModelDescription(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        BundledModel.locate(environment: environment).map { "the bundled model, \($0.directory.path)" }
            ?? "no weights given and no bundled model"
    }

    /// Loads the weights (memory-mapped safetensors or an official .pth) and the tokenizer named by the
    /// configuration or, without `model.weights`, the bundled model (`BundledModel`: `$REFERSTREAM_MODEL_DIR`,
    /// `<prefix>/share/referstream/model`, or the source checkout's models/demo) with its tokenizer and
    /// configuration file.
    /// - Throws: `DaemonError(.model)` naming the `model.*` key and its line.
    public static func load(_ configuration: DaemonConfiguration.Model, file: String?,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(DaemonError) -> LoadedModel {
        func fail(_ key: String, _ message: String, _ underlying: String? = nil) -> DaemonError {
            DaemonError(.model, message, key: "model.\(key)", line: configuration.lines[key], file: file, underlying: underlying)
        }
        let bundled = configuration.weights == nil ? BundledModel.locate(environment: environment) : nil
        guard let weights = configuration.weights ?? bundled?.weights.path else {
            throw fail("weights", "no weights given and no bundled model (looked for \(BundledModel.searchedDescription(environment: environment))); set model.weights to a .pth or .safetensors file, or run `make install`")
        }
        guard FileManager.default.isReadableFile(atPath: weights) else {
            throw fail("weights", "the weights file \(weights) does not exist or cannot be read; give the path of a .pth or .safetensors file")
        }
        // Without model.tokenizer: the bundled model's, or the one next to the weights; else their folder,
        // so the error below names it.
        let tokenizerPath = configuration.tokenizer ?? bundled?.tokenizer.path
            ?? BundledModel.tokenizerNextTo(weights: weights) ?? (weights as NSString).deletingLastPathComponent
        let tokenizer: RobertaTokenizer
        do {
            tokenizer = try RobertaTokenizer(directory: URL(fileURLWithPath: tokenizerPath))
        } catch {
            throw fail("tokenizer", "cannot load the tokenizer from \(tokenizerPath): give a folder with vocab.json and merges.txt (or tokenizer.json)", "\(error)")
        }
        // Without model.config the architecture is inferred from the weights (strictly checked).
        let configurationFile = configuration.config.map { URL(fileURLWithPath: $0) } ?? bundled?.configuration
        if let url = configurationFile, !FileManager.default.isReadableFile(atPath: url.path) {
            throw fail("config", "the model configuration \(url.path) does not exist or cannot be read")
        }
        TensorRuntime.defaultThreadCount = configuration.threads
        let start = ContinuousClock.now
        let model: ReferFormerModel
        do {
            model = try ReferFormerModel.load(weights: URL(fileURLWithPath: weights), configurationFile: configurationFile)
        } catch {
            let key = configuration.config != nil && "\(error)".contains("configuration") ? "config" : "weights"
            throw fail(key, "cannot load the model from \(weights)", "\(error)")
        }
        let elapsed = ContinuousClock.now - start
        let c = model.configuration
        let summary = String(
            format: "%@: hidden %d, %d+%d layers, %d queries, text encoder %d layers; OpenBLAS %@, %d threads; loaded in %.2f s",
            (weights as NSString).lastPathComponent, c.hiddenDim, c.encLayers, c.decLayers, c.numQueries,
            c.textEncoder.numHiddenLayers, TensorRuntime.kernelName, TensorRuntime.threadCount,
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        return LoadedModel(model: model, tokenizer: tokenizer, weightsPath: weights, tokenizerPath: tokenizerPath, summary: summary,
                           trainedShorterSide: configurationFile.flatMap { ReferFormerConfiguration.trainedShorterSide(contentsOf: $0) },
                           bundledOrigin: bundled.map { "the bundled model (\($0.origin))" })
    }

    /// Re-executes the process with the fastest OpenBLAS kernel when OpenBLAS chose a generic one (see
    /// `TensorRuntime.restartWithFastestKernelIfNeeded`); call it first thing in `main`, before anything starts.
    /// - Returns: the kernel in use.
    @discardableResult
    public static func chooseBLASKernel() -> String { TensorRuntime.restartWithFastestKernelIfNeeded() }

    /// Why `text` cannot be a phrase for this model (too long, empty, unknown ids), nil when it can.
    public func rejection(of text: String) -> String? {
        do {
            _ = try model.tokenIDs(text, tokenizer: tokenizer)
            return nil
        } catch {
            return error.message
        }
    }
}
