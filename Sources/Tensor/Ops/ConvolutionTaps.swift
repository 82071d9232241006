// A convolution weight prepared for `conv2dChannelsLast`.

/// A k×k convolution weight (Cout, Cin, k, k), k odd, rearranged once for `conv2dChannelsLast` into
/// k² taps (k², Cout, Cin), tap = ky·k + kx.
public struct ConvolutionTaps: Sendable {
    /// (k², Cout, Cin)
    public let taps: Tensor
    /// k
    public let kernelSize: Int

    /// - Parameter weight: the checkpoint's (Cout, Cin, k, k) weight, k odd.
    public init(weight: Tensor) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3] && weight.shape[2] % 2 == 1,
                     "ConvolutionTaps expects (Cout, Cin, k, k) with k odd, got \(weight.shape)")
        kernelSize = weight.shape[2]
        taps = weight.permuted([2, 3, 0, 1]).contiguous().reshaped([kernelSize * kernelSize, weight.shape[0], weight.shape[1]])
    }

    public var outChannels: Int { taps.shape[1] }
    public var inChannels: Int { taps.shape[2] }
}
