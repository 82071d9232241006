// DAVIS-2017 evaluation (github.com/davisvideochallenge/davis2017-evaluation, davis2017/metrics.py and
// utils.py): region similarity J (db_eval_iou), contour accuracy F (f_measure with _seg2bmap and a disk
// dilation, as cv2.dilate(..., skimage.morphology.disk(bound_pix))), and db_statistics.

/// Per-frame measures of one binary prediction against one binary annotation.
public enum Metrics {
    /// The DAVIS boundary tolerance: a fraction of the image diagonal (`bound_th` in metrics.py).
    public static let defaultBoundaryThreshold = 0.008

    /// Region similarity J: intersection over union; 1 when both masks are empty (db_eval_iou).
    public static func regionSimilarity(annotation: [Bool], prediction: [Bool]) -> Double {
        precondition(annotation.count == prediction.count, "masks must have the same size")
        var intersection = 0, union = 0
        for i in annotation.indices {
            let a = annotation[i], p = prediction[i]
            if a && p { intersection += 1 }
            if a || p { union += 1 }
        }
        return union == 0 ? 1 : Double(intersection) / Double(union)
    }

    /// The tolerance in pixels: `bound_th` itself when ≥ 1, else ceil(bound_th · diagonal).
    public static func boundaryTolerance(width: Int, height: Int, threshold: Double = defaultBoundaryThreshold) -> Int {
        if threshold >= 1 { return Int(threshold) }
        return Int((threshold * (Double(width * width + height * height)).squareRoot()).rounded(.up))
    }

    /// Contour accuracy F: the F-measure of boundary precision and recall, where a boundary pixel
    /// matches if the other mask's boundary lies within the tolerance disk (f_measure).
    public static func boundaryFMeasure(annotation: [Bool], prediction: [Bool], width: Int, height: Int,
                                        threshold: Double = defaultBoundaryThreshold) -> Double {
        precondition(annotation.count == width * height && prediction.count == width * height, "masks must be width × height")
        let radius = boundaryTolerance(width: width, height: height, threshold: threshold)
        let predictedBoundary = boundaryMap(prediction, width: width, height: height)
        let annotatedBoundary = boundaryMap(annotation, width: width, height: height)
        let predictedDilated = dilate(predictedBoundary, width: width, height: height, radius: radius)
        let annotatedDilated = dilate(annotatedBoundary, width: width, height: height, radius: radius)
        var nPredicted = 0, nAnnotated = 0, predictedMatched = 0, annotatedMatched = 0
        for i in 0..<(width * height) {
            if predictedBoundary[i] { nPredicted += 1; if annotatedDilated[i] { predictedMatched += 1 } }
            if annotatedBoundary[i] { nAnnotated += 1; if predictedDilated[i] { annotatedMatched += 1 } }
        }
        let precision: Double, recall: Double
        switch (nPredicted, nAnnotated) {
        case (0, let g) where g > 0: (precision, recall) = (1, 0)
        case (let f, 0) where f > 0: (precision, recall) = (0, 1)
        case (0, 0): (precision, recall) = (1, 1)
        default:
            precision = Double(predictedMatched) / Double(nPredicted)
            recall = Double(annotatedMatched) / Double(nAnnotated)
        }
        return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
    }

    /// One-pixel-wide boundaries, offset half a pixel towards the origin (_seg2bmap): a pixel is on the
    /// boundary when it differs from its east, south or south-east neighbour; the last row compares
    /// with east only, the last column with south only, and the bottom-right pixel is never a boundary.
    public static func boundaryMap(_ mask: [Bool], width: Int, height: Int) -> [Bool] {
        var b = [Bool](repeating: false, count: width * height)
        guard width > 0, height > 0 else { return b }
        for y in 0..<height {
            for x in 0..<width {
                let s = mask[y * width + x]
                let e = x + 1 < width ? mask[y * width + x + 1] : false
                let south = y + 1 < height ? mask[(y + 1) * width + x] : false
                let se = (x + 1 < width && y + 1 < height) ? mask[(y + 1) * width + x + 1] : false
                if y == height - 1 && x == width - 1 {
                    b[y * width + x] = false
                } else if y == height - 1 {
                    b[y * width + x] = s != e
                } else if x == width - 1 {
                    b[y * width + x] = s != south
                } else {
                    b[y * width + x] = (s != e) || (s != south) || (s != se)
                }
            }
        }
        return b
    }

    /// Binary dilation by the disk {(dx, dy) : dx² + dy² ≤ r²} (skimage `disk(r)`), pixels outside the
    /// image contributing nothing (cv2.dilate's default border).
    public static func dilate(_ mask: [Bool], width: Int, height: Int, radius: Int) -> [Bool] {
        var offsets: [(Int, Int)] = []
        for dy in -radius...radius {
            for dx in -radius...radius where dx * dx + dy * dy <= radius * radius { offsets.append((dx, dy)) }
        }
        var out = [Bool](repeating: false, count: width * height)
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                for (dx, dy) in offsets {
                    let xx = x + dx, yy = y + dy
                    if xx >= 0 && xx < width && yy >= 0 && yy < height { out[yy * width + xx] = true }
                }
            }
        }
        return out
    }
}

/// Mean, recall and decay of per-frame values (db_statistics in davis2017/utils.py).
public struct SequenceStatistics: Sendable, Equatable {
    /// Mean over frames (NaN values skipped).
    public var mean: Double
    /// Fraction of frames above 0.5.
    public var recall: Double
    /// Mean of the first quarter of the frames minus the mean of the last quarter (4 bins, as DAVIS).
    public var decay: Double

    public init(_ values: [Double]) {
        let finite = values.filter { !$0.isNaN }
        mean = finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
        recall = finite.isEmpty ? .nan : Double(finite.filter { $0 > 0.5 }.count) / Double(finite.count)
        // ids = uint8(round(linspace(1, n, 5) + 1e-10) - 1); bins [ids[i], ids[i+1]] inclusive.
        let n = values.count
        var ids: [Int] = []
        for i in 0...4 {
            let v = n == 1 ? 1.0 : 1.0 + Double(n - 1) * Double(i) / 4.0
            ids.append(Int((v + 1e-10).rounded(.toNearestOrEven)) - 1)
        }
        func binMean(_ i: Int) -> Double {
            guard n > 0 else { return .nan }
            let lo = max(0, ids[i]), hi = min(n - 1, ids[i + 1])
            guard lo <= hi else { return .nan }
            let bin = values[lo...hi].filter { !$0.isNaN }
            return bin.isEmpty ? .nan : bin.reduce(0, +) / Double(bin.count)
        }
        decay = binMean(0) - binMean(3)
    }
}
