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

    /// Where `make install` puts the bundled model (`$REFERSTREAM_MODEL_DIR` overrides): a folder with
    /// `weights.safetensors` and `tokenizer/`.
    public static func bundledModelDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["REFERSTREAM_MODEL_DIR"], !dir.isEmpty { return dir }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "referstreamd").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/referstream/model").path
    }

    /// Loads the weights (memory-mapped safetensors or an official .pth) and the tokenizer named by the
    /// configuration, or the bundled model's.
    /// - Throws: `DaemonError(.model)` naming the `model.*` key and its line.
    public static func load(_ configuration: DaemonConfiguration.Model, file: String?) throws(DaemonError) -> LoadedModel {
        let bundled = bundledModelDirectory()
        let weights = configuration.weights ?? (bundled as NSString).appendingPathComponent("weights.safetensors")
        func fail(_ key: String, _ message: String, _ underlying: String? = nil) -> DaemonError {
            DaemonError(.model, message, key: "model.\(key)", line: configuration.lines[key], file: file, underlying: underlying)
        }
        guard FileManager.default.isReadableFile(atPath: weights) else {
            if configuration.weights == nil {
                throw fail("weights", "no weights given and no bundled model at \(weights); set model.weights to a .pth or .safetensors file (or run `make install`)")
            }
            throw fail("weights", "the weights file \(weights) does not exist or cannot be read; give the path of a .pth or .safetensors file")
        }
        let tokenizerPath = configuration.tokenizer
            ?? [(bundled as NSString).appendingPathComponent("tokenizer"),
                ((weights as NSString).deletingLastPathComponent as NSString).appendingPathComponent("tokenizer")]
                .first { FileManager.default.fileExists(atPath: $0) }
            ?? (weights as NSString).deletingLastPathComponent
        let tokenizer: RobertaTokenizer
        do {
            tokenizer = try RobertaTokenizer(directory: URL(fileURLWithPath: tokenizerPath))
        } catch {
            throw fail("tokenizer", "cannot load the tokenizer from \(tokenizerPath): give a folder with vocab.json and merges.txt (or tokenizer.json)", "\(error)")
        }
        // Without model.config the architecture is inferred from the weights (strictly checked).
        let configurationFile = configuration.config.map { URL(fileURLWithPath: $0) }
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
        return LoadedModel(model: model, tokenizer: tokenizer, weightsPath: weights, tokenizerPath: tokenizerPath, summary: summary)
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
