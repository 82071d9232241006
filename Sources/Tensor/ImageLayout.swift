// The memory order of image batches, for ops that take either.

/// The memory order of an image batch.
public enum ImageLayout: Sendable, Equatable {
    /// (N, C, H, W), PyTorch's order (and every op without a `layout:` argument).
    case channelsFirst
    /// (N, H, W, C): each pixel a contiguous row of channels.
    case channelsLast
}
