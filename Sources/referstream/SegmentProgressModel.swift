import Tensor
import Tracking

/// The network behind `segment`'s tracker, reporting each stage to the progress line.
///
/// The per-frame stages (`detect`) run frame by frame here, so that a whole-video run reports every
/// frame of its encoder + decoder step instead of one opaque batch: the protocol guarantees that
/// `detect` does not mix frames, so each frame's outputs are those of the batched call (the same
/// operations on the same values; only the matrix products' batch size differs), and the encoder's
/// working set is one frame's instead of the clip's.
struct SegmentProgressModel<Base: TrackingModel>: TrackingModel {
    let base: Base
    let progress: SegmentProgress

    var backboneScope: BackboneScope { base.backboneScope }

    func encode(text: String) throws(TrackingError) -> Base.Text { try base.encode(text: text) }

    func features(of frames: [StreamFrame]) throws(TrackingError) -> [Base.Features] {
        progress.stepStarted(.backbone, frames: frames.count)
        defer { progress.stepFinished() }
        return try base.features(of: frames)
    }

    func detect(_ features: [Base.Features], text: Base.Text) throws(TrackingError) -> [Base.Detections] {
        var detections: [Base.Detections] = []
        detections.reserveCapacity(features.count)
        for (i, frame) in features.enumerated() {
            progress.stepStarted(.detection, frames: 1, item: (i + 1, features.count))
            defer { progress.stepFinished() }
            detections += try base.detect([frame], text: text)
        }
        return detections
    }

    func queries(_ detections: Base.Detections) -> FrameQueries { base.queries(detections) }

    func maskLogits(_ features: [Base.Features], detections: [Base.Detections], text: Base.Text) throws(TrackingError) -> Tensor {
        progress.stepStarted(.window, frames: features.count)
        defer { progress.stepFinished() }
        return try base.maskLogits(features, detections: detections, text: text)
    }

    typealias PixelState = Base.PixelState

    /// `--pixel-decoder incremental`: one new frame's pixel decoder and mask head.
    func incrementalMaskLogits(_ features: Base.Features, detections: Base.Detections, text: Base.Text,
                               earlier: [Base.PixelState]) throws(TrackingError) -> (maskLogits: Tensor, state: Base.PixelState) {
        progress.stepStarted(.window, frames: 1)
        defer { progress.stepFinished() }
        return try base.incrementalMaskLogits(features, detections: detections, text: text, earlier: earlier)
    }
}
