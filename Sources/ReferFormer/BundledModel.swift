// The model ReferStream runs when no weights are given: the demo model (models/demo), found where
// `make install` puts it or, in a source checkout, in the repository the executable was built from.
import Foundation

/// A model folder: `weights.safetensors`, optionally `config.json` (official option names plus the
/// `training` note that `tools/demo/export.py` writes) and the tokenizer (`tokenizer/` or the folder itself).
public struct BundledModel: Sendable, Equatable {
    /// The folder.
    public let directory: URL
    /// How it was found, for messages ("$REFERSTREAM_MODEL_DIR", "installed", "source checkout").
    public let origin: String

    public var weights: URL { directory.appendingPathComponent("weights.safetensors") }

    /// `config.json` when the folder has one.
    public var configuration: URL? {
        let url = directory.appendingPathComponent("config.json")
        return FileManager.default.isReadableFile(atPath: url.path) ? url : nil
    }

    /// `tokenizer/` when the folder has it (the installed layout), else the folder (models/demo keeps
    /// vocab.json and merges.txt next to the weights).
    public var tokenizer: URL {
        let sub = directory.appendingPathComponent("tokenizer")
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: sub.path, isDirectory: &isDirectory) && isDirectory.boolValue ? sub : directory
    }

    public init(directory: URL, origin: String) {
        self.directory = directory
        self.origin = origin
    }

    /// The folders searched, in order: `$REFERSTREAM_MODEL_DIR` (alone when set); `<prefix>/share/referstream/model`
    /// next to the executable's `bin/` (`make install`); and, for a build inside a source checkout
    /// (`.build/<triple>/release/referstream`), the checkout's `models/demo`.
    public static func candidates(environment: [String: String] = ProcessInfo.processInfo.environment,
                                  executable: URL = BundledModel.currentExecutable) -> [BundledModel] {
        if let dir = environment["REFERSTREAM_MODEL_DIR"], !dir.isEmpty {
            return [BundledModel(directory: URL(fileURLWithPath: dir), origin: "$REFERSTREAM_MODEL_DIR")]
        }
        let binDirectory = executable.deletingLastPathComponent()
        var found = [BundledModel(directory: binDirectory.deletingLastPathComponent()
                                    .appendingPathComponent("share/referstream/model"), origin: "installed")]
        // A source checkout: the first ancestor with Package.swift and models/demo (a few levels up).
        var folder = binDirectory
        for _ in 0..<6 {
            let demo = folder.appendingPathComponent("models/demo")
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path),
               FileManager.default.fileExists(atPath: demo.path) {
                found.append(BundledModel(directory: demo, origin: "source checkout"))
                break
            }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        return found
    }

    /// The first candidate with readable weights, nil when there is none.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              executable: URL = BundledModel.currentExecutable) -> BundledModel? {
        candidates(environment: environment, executable: executable)
            .first { FileManager.default.isReadableFile(atPath: $0.weights.path) }
    }

    /// Why no model was found, naming every place searched (for "no weights given" errors).
    public static func searchedDescription(environment: [String: String] = ProcessInfo.processInfo.environment,
                                           executable: URL = BundledModel.currentExecutable) -> String {
        candidates(environment: environment, executable: executable)
            .map { "\($0.weights.path) (\($0.origin))" }.joined(separator: ", ")
    }

    /// The tokenizer that goes with weights given explicitly: `tokenizer/` next to them, else their folder,
    /// whichever holds tokenizer files (`vocab.json` or `tokenizer.json`); nil when neither does.
    public static func tokenizerNextTo(weights: String) -> String? {
        let folder = (weights as NSString).deletingLastPathComponent
        return [(folder as NSString).appendingPathComponent("tokenizer"), folder].first { candidate in
            ["vocab.json", "tokenizer.json"].contains { FileManager.default.fileExists(atPath: (candidate as NSString).appendingPathComponent($0)) }
        }
    }

    /// The running executable, symlinks resolved.
    public static var currentExecutable: URL {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? "referstream"
        return URL(fileURLWithPath: path).resolvingSymlinksInPath()
    }
}

extension ReferFormerConfiguration {
    /// The shorter side of the frames a model was trained at, from the `training` note of its
    /// configuration file (`input_height`, `input_width`; written by tools/demo/export.py); nil when the
    /// file has no such note or cannot be read. Running a model at its training scale matters for a
    /// small model trained at one resolution: `referstream segment` and `referstreamd` use it when no
    /// shorter side is given.
    public static func trainedShorterSide(contentsOf url: URL) -> Int? {
        guard let data = try? Data(contentsOf: url),
              let document = try? JSONDecoder().decode(ConfigurationValue.self, from: data),
              case .object(let top) = document, case .object(let training)? = top["training"],
              case .number(let height)? = training["input_height"], case .number(let width)? = training["input_width"],
              height >= 1, width >= 1, height == height.rounded(), width == width.rounded()
        else { return nil }
        return Int(min(height, width))
    }
}
