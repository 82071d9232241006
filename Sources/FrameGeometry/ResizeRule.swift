// torchvision transforms/functional.py, `_compute_resized_output_size` for an `int` size — the rule the
// official pre-processing (`T.Resize(360)`) uses. One place for it: the ingest pipeline scales frames to
// this size (VideoIngest) and the Pillow-exact resize produces it (ReferFormer), and the two must agree
// to the pixel.

/// The size a frame of `height × width` has after torchvision's `Resize(shorterSide)`: the shorter side
/// becomes `shorterSide` and the longer side `int(shorterSide * long / short)` (Python true division,
/// truncated); a square stays square, and a frame already at `shorterSide` on its shorter side keeps its
/// size.
///
/// - Precondition: all three values are positive.
public func torchvisionResizedSize(height: Int, width: Int, shorterSide: Int) -> (height: Int, width: Int) {
    precondition(height > 0 && width > 0 && shorterSide > 0,
                 "torchvisionResizedSize needs positive sizes, got \(height)×\(width), shorter side \(shorterSide)")
    let widthIsShort = width <= height
    let short = widthIsShort ? width : height
    let long = widthIsShort ? height : width
    // Python computes `size * long` exactly (ints), then one correctly rounded division, then int()
    // truncates; Double does the same for any realistic frame size (products far below 2^53).
    let newLong = Int((Double(shorterSide * long) / Double(short)).rounded(.towardZero))
    return widthIsShort ? (height: newLong, width: shorterSide) : (height: shorterSide, width: newLong)
}
