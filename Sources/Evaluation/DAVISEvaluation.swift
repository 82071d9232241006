// DAVIS-2017 evaluation over folders (davis2017/evaluation.py `DAVISEvaluation.evaluate`,
// semi-supervised task, and evaluation_method.py's global table).
import Foundation

/// Measures of one object (a DAVIS object id, or one referring expression) over its frames.
public struct ObjectResult: Sendable {
    /// The sequence folder name.
    public var sequence: String
    /// The object: its id ("1", "2", …) in a multi-object annotation, or the expression folder name.
    public var object: String
    /// Frame names (file names without .png) that were evaluated, in order.
    public var frames: [String]
    /// Per-frame region similarity J and contour accuracy F.
    public var regionSimilarity: [Double]
    public var contourAccuracy: [Double]

    public var j: SequenceStatistics { SequenceStatistics(regionSimilarity) }
    public var f: SequenceStatistics { SequenceStatistics(contourAccuracy) }
    /// (J mean + F mean) / 2.
    public var jAndF: Double { (j.mean + f.mean) / 2 }
    /// `sequence/object`, the key of `--groups` files.
    public var key: String { "\(sequence)/\(object)" }
}

/// The global DAVIS table: means over objects of the per-object statistics.
public struct Summary: Sendable, Equatable {
    public var count: Int
    public var jAndFMean: Double
    public var jMean: Double, jRecall: Double, jDecay: Double
    public var fMean: Double, fRecall: Double, fDecay: Double

    public init(_ objects: [ObjectResult]) {
        count = objects.count
        func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
        let js = objects.map(\.j), fs = objects.map(\.f)
        jMean = mean(js.map(\.mean)); jRecall = mean(js.map(\.recall)); jDecay = mean(js.map(\.decay))
        fMean = mean(fs.map(\.mean)); fRecall = mean(fs.map(\.recall)); fDecay = mean(fs.map(\.decay))
        jAndFMean = (jMean + fMean) / 2
    }
}

public struct EvaluationOptions: Sendable {
    /// `bound_th` of metrics.py (fraction of the diagonal, or pixels when ≥ 1).
    public var boundaryThreshold: Double
    /// The DAVIS semi-supervised protocol leaves out the first and the last frame of every sequence.
    public var skipFirstAndLastFrames: Bool

    public init(boundaryThreshold: Double = Metrics.defaultBoundaryThreshold, skipFirstAndLastFrames: Bool = false) {
        self.boundaryThreshold = boundaryThreshold
        self.skipFirstAndLastFrames = skipFirstAndLastFrames
    }
}

/// Evaluates a folder of predicted masks against a folder of DAVIS-style annotations.
///
/// Layouts (the annotation folder decides, per sequence):
/// * **multi-object** (DAVIS `Annotations/480p`): `ANN/<seq>/<frame>.png` with object ids as pixel
///   values (0 background, 255 void → background, as the semi-supervised evaluation does); predictions
///   `PRED/<seq>/<frame>.png` the same way. Objects are 1…max id of the first annotated frame; a
///   prediction with a larger id is an error, a missing id is an empty mask (as evaluation.py).
/// * **per expression** (referring segmentation): `ANN/<seq>/<exp>/<frame>.png` binary masks
///   (non-zero = object); predictions `PRED/<seq>/<exp>/<frame>.png`.
public enum DAVISEvaluation {
    public static func evaluate(predictions: URL, annotations: URL,
                                options: EvaluationOptions = EvaluationOptions()) throws(EvaluationError) -> [ObjectResult] {
        let sequences = try subfolders(of: annotations)
        guard !sequences.isEmpty else {
            throw EvaluationError(.layout, "\(annotations.path) has no sequence folders: give the folder that holds one folder per sequence (DAVIS: Annotations/480p)")
        }
        var results: [ObjectResult] = []
        for sequence in sequences {
            let folder = annotations.appendingPathComponent(sequence)
            let frames = try pngNames(in: folder)
            if !frames.isEmpty {
                results += try evaluateMultiObject(sequence: sequence, frames: frames, annotations: folder,
                                                   predictions: predictions.appendingPathComponent(sequence), options: options)
            } else {
                let expressions = try subfolders(of: folder)
                guard !expressions.isEmpty else {
                    throw EvaluationError(.layout, "\(folder.path) has neither PNG masks nor expression folders")
                }
                for expression in expressions {
                    let expFolder = folder.appendingPathComponent(expression)
                    let expFrames = try selected(try pngNames(in: expFolder), options)
                    let predFolder = predictions.appendingPathComponent(sequence).appendingPathComponent(expression)
                    var result = ObjectResult(sequence: sequence, object: expression, frames: expFrames, regionSimilarity: [], contourAccuracy: [])
                    for frame in expFrames {
                        let gt = try PNGReader.read(contentsOf: expFolder.appendingPathComponent(frame + ".png"))
                        let pred = try readPrediction(predFolder, frame, like: gt)
                        let (j, f) = measure(gt.foreground, pred.foreground, gt.width, gt.height, options)
                        result.regionSimilarity.append(j)
                        result.contourAccuracy.append(f)
                    }
                    results.append(result)
                }
            }
        }
        return results
    }

    static func evaluateMultiObject(sequence: String, frames allFrames: [String], annotations: URL, predictions: URL,
                                    options: EvaluationOptions) throws(EvaluationError) -> [ObjectResult] {
        let first = try PNGReader.read(contentsOf: annotations.appendingPathComponent(allFrames[0] + ".png"))
        let objectCount = first.maximumObjectLabel
        let frames = try selected(allFrames, options)
        var gts: [LabelImage] = [], preds: [LabelImage] = []
        var predictedObjects = 0
        for frame in frames {
            var gt = try PNGReader.read(contentsOf: annotations.appendingPathComponent(frame + ".png"))
            gt.labels = gt.labels.map { $0 == 255 ? 0 : $0 }
            let pred = try readPrediction(predictions, frame, like: gt)
            predictedObjects = max(predictedObjects, Int(pred.labels.max() ?? 0))
            gts.append(gt); preds.append(pred)
        }
        guard predictedObjects <= objectCount else {
            throw EvaluationError(.mismatch, "\(predictions.path) has object id \(predictedObjects), but the annotation of \(sequence) has \(objectCount) objects: use the annotation's ids")
        }
        var results: [ObjectResult] = []
        for object in 1...max(objectCount, 1) where objectCount > 0 {
            var r = ObjectResult(sequence: sequence, object: String(object), frames: frames, regionSimilarity: [], contourAccuracy: [])
            for (gt, pred) in zip(gts, preds) {
                let (j, f) = measure(gt.mask(of: UInt8(object)), pred.mask(of: UInt8(object)), gt.width, gt.height, options)
                r.regionSimilarity.append(j)
                r.contourAccuracy.append(f)
            }
            results.append(r)
        }
        return results
    }

    static func measure(_ gt: [Bool], _ pred: [Bool], _ width: Int, _ height: Int, _ options: EvaluationOptions) -> (Double, Double) {
        (Metrics.regionSimilarity(annotation: gt, prediction: pred),
         Metrics.boundaryFMeasure(annotation: gt, prediction: pred, width: width, height: height, threshold: options.boundaryThreshold))
    }

    static func selected(_ frames: [String], _ options: EvaluationOptions) throws(EvaluationError) -> [String] {
        guard options.skipFirstAndLastFrames else { return frames }
        return frames.count > 2 ? Array(frames.dropFirst().dropLast()) : []
    }

    static func readPrediction(_ folder: URL, _ frame: String, like gt: LabelImage) throws(EvaluationError) -> LabelImage {
        let url = folder.appendingPathComponent(frame + ".png")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw EvaluationError(.mismatch, "missing prediction \(url.path): every annotated frame needs a PNG mask of the same name")
        }
        let pred = try PNGReader.read(contentsOf: url)
        guard pred.width == gt.width, pred.height == gt.height else {
            throw EvaluationError(.mismatch, "\(url.path) is \(pred.width)×\(pred.height) but its annotation is \(gt.width)×\(gt.height): write masks at the annotation's size")
        }
        return pred
    }

    static func subfolders(of url: URL) throws(EvaluationError) -> [String] {
        try entries(of: url).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    static func pngNames(in url: URL) throws(EvaluationError) -> [String] {
        try entries(of: url).filter { $0.hasSuffix(".png") }.map { String($0.dropLast(4)) }
    }

    static func entries(of url: URL) throws(EvaluationError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw EvaluationError(.io, "cannot list \(url.path)", underlying: error)
        }
    }
}
