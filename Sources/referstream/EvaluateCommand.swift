import ArgumentParser
import Evaluation
import Foundation

/// `referstream evaluate`: DAVIS-2017 region similarity J and contour accuracy F of predicted masks.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score predicted masks against DAVIS-style annotations (J, F, J&F).",
        discussion: """
            Computes what the DAVIS-2017 evaluation code computes: per frame the region similarity J \
            (mask IoU) and the contour accuracy F (boundary F-measure, tolerance ceil(0.008 × image \
            diagonal) pixels); per object or expression the mean, recall (fraction of frames > 0.5) and \
            decay; overall the means over objects and J&F = (J + F) / 2.

            Layouts: --annotations holds one folder per sequence, either with indexed PNGs (object ids, \
            0 = background, 255 = void; DAVIS Annotations/480p) or with one folder of binary PNG masks \
            per referring expression (non-zero = object). --predictions mirrors it with masks of the \
            same names and sizes. --groups FILE (JSON object "sequence/object" → group name) adds a \
            table by group, e.g. by expression type.
            """)

    @Option(name: .customLong("predictions"), help: ArgumentHelp("The folder of predicted masks.", valueName: "dir"))
    var predictions: String

    @Option(name: .customLong("annotations"), help: ArgumentHelp("The folder of ground-truth masks.", valueName: "dir"))
    var annotations: String

    @Option(name: .customLong("groups"), help: ArgumentHelp(
        "A JSON object mapping \"sequence/object\" to a group name; adds a table by group.", valueName: "file"))
    var groups: String?

    @Option(name: .customLong("json"), help: ArgumentHelp("Also write every figure as JSON to this file.", valueName: "file"))
    var jsonPath: String?

    @Option(name: .customLong("bound-threshold"), help: ArgumentHelp(
        "Boundary tolerance: a fraction of the image diagonal (< 1) or pixels (≥ 1).", valueName: "x"))
    var boundThreshold = Metrics.defaultBoundaryThreshold

    @Flag(name: .customLong("skip-first-last"), help: "Leave out the first and last frame of every sequence (the DAVIS semi-supervised protocol).")
    var skipFirstLast = false

    @Flag(name: .customLong("quiet"), help: "Print only the overall table (and groups), not every sequence.")
    var quiet = false

    func validate() throws {
        guard boundThreshold > 0 else { throw ValidationError("--bound-threshold must be positive") }
    }

    func run() throws {
        let results: [ObjectResult]
        var groupOf: [String: String] = [:]
        do {
            if let groups {
                groupOf = try Self.readGroups(groups)
            }
            results = try DAVISEvaluation.evaluate(
                predictions: URL(fileURLWithPath: predictions), annotations: URL(fileURLWithPath: annotations),
                options: EvaluationOptions(boundaryThreshold: boundThreshold, skipFirstAndLastFrames: skipFirstLast))
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        func f(_ x: Double) -> String { x.isNaN ? "nan" : String(format: "%.4f", x) }
        if !quiet {
            print("sequence/object\tframes\tJ\tF\tJ&F")
            for r in results { print("\(r.key)\t\(r.frames.count)\t\(f(r.j.mean))\t\(f(r.f.mean))\t\(f(r.jAndF))") }
            print("")
        }
        let overall = Summary(results)
        print("objects\tJ&F-Mean\tJ-Mean\tJ-Recall\tJ-Decay\tF-Mean\tF-Recall\tF-Decay")
        print("\(overall.count)\t\(f(overall.jAndFMean))\t\(f(overall.jMean))\t\(f(overall.jRecall))\t\(f(overall.jDecay))\t\(f(overall.fMean))\t\(f(overall.fRecall))\t\(f(overall.fDecay))")
        var byGroup: [(String, Summary)] = []
        if !groupOf.isEmpty {
            let grouped = Dictionary(grouping: results) { groupOf[$0.key] ?? "(no group)" }
            byGroup = grouped.keys.sorted().map { ($0, Summary(grouped[$0]!)) }
            print("")
            print("group\tobjects\tJ&F\tJ\tF")
            for (name, s) in byGroup { print("\(name)\t\(s.count)\t\(f(s.jAndFMean))\t\(f(s.jMean))\t\(f(s.fMean))") }
        }
        if let jsonPath {
            func summary(_ s: Summary) -> [String: Any] {
                ["count": s.count, "J&F-Mean": s.jAndFMean, "J-Mean": s.jMean, "J-Recall": s.jRecall, "J-Decay": s.jDecay,
                 "F-Mean": s.fMean, "F-Recall": s.fRecall, "F-Decay": s.fDecay]
            }
            let document: [String: Any] = [
                "overall": summary(overall),
                "groups": Dictionary(uniqueKeysWithValues: byGroup.map { ($0.0, summary($0.1)) }),
                "objects": results.map { r -> [String: Any] in
                    ["sequence": r.sequence, "object": r.object, "frames": r.frames.count, "J": r.j.mean, "F": r.f.mean,
                     "J&F": r.jAndF, "J-Recall": r.j.recall, "F-Recall": r.f.recall, "J-Decay": r.j.decay, "F-Decay": r.f.decay]
                },
            ]
            do {
                let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: URL(fileURLWithPath: jsonPath))
            } catch {
                printError("error: cannot write \(jsonPath): \(error.localizedDescription)")
                throw ExitCode(1)
            }
        }
    }

    static func readGroups(_ path: String) throws(EvaluationError) -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EvaluationError(.io, "cannot read the groups file \(path)", underlying: error)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: String] else {
            throw EvaluationError(.layout, "\(path) is not a JSON object of strings (\"sequence/object\": \"group\")")
        }
        return object
    }
}
