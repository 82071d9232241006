import Foundation
import Tensor
import Tracking

/// A rectangle in pixels of the frame, [x0, x1) × [y0, y1).
struct Rect: Equatable, CustomStringConvertible {
    var x0: Int, y0: Int, x1: Int, y1: Int
    static let empty = Rect(x0: 0, y0: 0, x1: 0, y1: 0)
    var description: String { "[\(x0),\(x1))×[\(y0),\(y1))" }

    /// The 0/1 mask of the rectangle on a width × height frame.
    func mask(width: Int, height: Int) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: width * height)
        for y in max(0, y0)..<max(max(0, y0), min(height, y1)) {
            for x in max(0, x0)..<max(max(0, x0), min(width, x1)) { m[y * width + x] = 1 }
        }
        return m
    }
}

/// One query of the scripted model on one frame: its score (sigmoid of the class logit) and the
/// object it segments (its mask and box).
struct ScriptedQuery {
    var score: Float
    var rect: Rect
}

/// A model whose outputs are written by the test: for a phrase text and a frame index, the Q queries'
/// scores and rectangles. Masks are at the frame's own size (logit +8 inside the rectangle, −8
/// outside), so the tracker's resize to the original size is the identity.
struct ScriptedModel: TrackingModel {
    typealias Text = String
    struct Features { var index: Int; var width: Int; var height: Int }
    struct Detections { var queries: [ScriptedQuery]; var width: Int; var height: Int }

    var backboneScope: BackboneScope = .perFrame
    let script: @Sendable (_ text: String, _ frame: Int) -> [ScriptedQuery]

    func encode(text: String) throws(TrackingError) -> String { text }

    func features(of frames: [StreamFrame]) throws(TrackingError) -> [Features] {
        frames.map { Features(index: $0.index, width: $0.width, height: $0.height) }
    }

    func detect(_ features: [Features], text: String) throws(TrackingError) -> [Detections] {
        features.map { Detections(queries: script(text, $0.index), width: $0.width, height: $0.height) }
    }

    func queries(_ d: Detections) -> FrameQueries {
        let logits = d.queries.map { log($0.score / (1 - $0.score)) }
        let boxes = d.queries.flatMap { q -> [Float] in
            let (w, h) = (Float(d.width), Float(d.height))
            return [Float(q.rect.x0 + q.rect.x1) / 2 / w, Float(q.rect.y0 + q.rect.y1) / 2 / h,
                    Float(q.rect.x1 - q.rect.x0) / w, Float(q.rect.y1 - q.rect.y0) / h]
        }
        return FrameQueries(logits: Tensor(shape: [d.queries.count, 1], elements: logits),
                            boxes: Tensor(shape: [d.queries.count, 4], elements: boxes))
    }

    func maskLogits(_ features: [Features], detections: [Detections], text: String) throws(TrackingError) -> Tensor {
        let (w, h, q) = (detections[0].width, detections[0].height, detections[0].queries.count)
        var values: [Float] = []
        values.reserveCapacity(detections.count * q * w * h)
        for d in detections {
            for query in d.queries { values += query.rect.mask(width: w, height: h).map { $0 == 1 ? 8 : -8 } }
        }
        return Tensor(shape: [detections.count, q, h, w], elements: values)
    }
}

/// Frames of a scripted stream (the pixels are not looked at).
func blankFrame(_ index: Int, width: Int = 32, height: Int = 24) -> StreamFrame {
    StreamFrame(pixels: [UInt8](repeating: 0, count: width * height * 3), width: width, height: height, index: index)
}

/// Pushes frames 0..<count (calling `before(i)` ahead of each) and flushes; all masks in order.
func runStream(_ tracker: StreamTracker, frames count: Int, width: Int = 32, height: Int = 24,
               before: (Int) throws -> Void = { _ in }) throws -> [TrackedMask] {
    var out: [TrackedMask] = []
    for i in 0..<count {
        try before(i)
        out += try tracker.push(blankFrame(i, width: width, height: height))
    }
    return out + (try tracker.flush())
}

extension TrackedMask {
    /// The bounding rectangle of the mask's set pixels (`.empty` when none), for readable failures.
    var bounds: Rect {
        var r: Rect?
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] != 0 {
                r = Rect(x0: min(r?.x0 ?? x, x), y0: min(r?.y0 ?? y, y), x1: max(r?.x1 ?? x + 1, x + 1), y1: max(r?.y1 ?? y + 1, y + 1))
            }
        }
        return r ?? .empty
    }

    /// Whether the mask is exactly `rect` (every pixel).
    func isExactly(_ rect: Rect) -> Bool { mask == rect.mask(width: width, height: height) }
}
