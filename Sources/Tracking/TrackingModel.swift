import Tensor

/// Whether a backbone's output for a frame depends only on that frame.
public enum BackboneScope: Sendable, Hashable {
    /// Per frame (ResNet): computed once per frame, cached while the frame is in the window, and shared
    /// by every phrase and every window.
    case perFrame
    /// Mixes the frames of a clip (Video-Swin): re-run on all of a window's frames for every window,
    /// and everything after it with it.
    case perClip
}

/// The per-frame outputs of the detection heads for one phrase, as linking needs them.
public struct FrameQueries: Sendable {
    /// Class logits of every query (Q, K) (`pred_logits[t]` of the last decoder layer).
    public var logits: Tensor
    /// Boxes (cx, cy, w, h) in [0, 1] of the frame (Q, 4) (`pred_boxes[t]`).
    public var boxes: Tensor

    public init(logits: Tensor, boxes: Tensor) {
        precondition(logits.rank == 2 && boxes.rank == 2 && boxes.shape == [logits.shape[0], 4],
                     "logits \(logits.shape) must be (Q, K) and boxes \(boxes.shape) (Q, 4)")
        self.logits = logits
        self.boxes = boxes
    }

    public var queryCount: Int { logits.shape[0] }
}

/// The network as `StreamTracker` drives it: the seam between windowing/linking and the model.
/// `ReferFormerTrackingModel` is the real one; tests script one to control every output.
///
/// The tracker calls these from one thread at a time.
public protocol TrackingModel {
    /// An encoded phrase (cached per text by the tracker).
    associatedtype Text
    /// A frame's text-independent features (cached while the frame is in the window when the backbone
    /// is per frame).
    associatedtype Features
    /// One frame's per-phrase outputs (cached per frame and phrase while the frame is in the window).
    associatedtype Detections
    /// What the incremental pixel decoder keeps of a (frame, phrase) for the frames after it.
    associatedtype PixelState = Never

    var backboneScope: BackboneScope { get }

    /// Tokenises and encodes a phrase. Throws `.phrase` when it cannot be used.
    func encode(text: String) throws(TrackingError) -> Text

    /// The backbone on frames of one size, in order: one `Features` per frame.
    func features(of frames: [StreamFrame]) throws(TrackingError) -> [Features]

    /// The per-frame stages for one phrase (projections, fusion, encoder, decoder, heads), one result
    /// per frame; must not mix frames.
    func detect(_ features: [Features], text: Text) throws(TrackingError) -> [Detections]

    /// The heads' outputs of one frame.
    func queries(_ detections: Detections) -> FrameQueries

    /// The stages that mix the window's frames (pixel decoder and mask head) → mask logits of every
    /// query (T, Q, h, w), h × w being the mask grid (stride 4 of the network input for ReferFormer).
    func maskLogits(_ features: [Features], detections: [Detections], text: Text) throws(TrackingError) -> Tensor

    /// Incremental mode (`PixelDecoderMode.incremental`): the frame-mixing stages on ONE new frame,
    /// whose tokens attend to the states of the `earlier` frames (oldest first) and its own → its mask
    /// logits (1, Q, h, w) and its state. The default throws `.configuration` (no incremental form).
    func incrementalMaskLogits(_ features: Features, detections: Detections, text: Text,
                               earlier: [PixelState]) throws(TrackingError) -> (maskLogits: Tensor, state: PixelState)
}

extension TrackingModel {
    public func incrementalMaskLogits(_ features: Features, detections: Detections, text: Text,
                                      earlier: [PixelState]) throws(TrackingError) -> (maskLogits: Tensor, state: PixelState) {
        throw TrackingError(.configuration, "this model has no incremental pixel decoder: use the exact pixel-decoder mode")
    }
}
