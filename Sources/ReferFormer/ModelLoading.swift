// Loading a model the way the commands and the daemon do: weights plus an optional configuration file
// (the file formats: ReferFormerConfiguration+File.swift; token ids: TokenizerCompatibility.swift).
import Foundation

extension ReferFormerModel {
    /// Loads weights (safetensors or an official .pth) with an optional configuration file; the
    /// architecture is inferred from the weights when there is none.
    /// - Throws: the configuration file's errors (`.io`, `.configuration`), then `load(weights:configuration:)`'s.
    public static func load(weights: URL, configurationFile: URL?) throws(ReferFormerError) -> ReferFormerModel {
        let configuration = try configurationFile.map { url throws(ReferFormerError) in try ReferFormerConfiguration(contentsOf: url) }
        return try load(weights: weights, configuration: configuration)
    }
}
