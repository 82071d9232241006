// A convolution weight prepared for `conv2dChannelsLast`.

/// A k×k convolution weight (Cout, Cin, k, k), k odd, rearranged once for `conv2dChannelsLast` into
/// k² taps (k², Cout, Cin), tap = ky·k + kx; a 3×3 weight also into its Winograd F(4×4, 3×3) transform
/// when `winograd` allows it (`conv2dChannelsLast` then chooses per call, see `Tensor.winogradPays`).
public struct ConvolutionTaps: Sendable {
    /// (k², Cout, Cin)
    public let taps: Tensor
    /// k
    public let kernelSize: Int
    /// The Winograd transform of a 3×3 weight, built on first use (nil for other sizes, or when not
    /// asked for).
    public let winograd: LazyWinogradKernel?

    /// - Parameters:
    ///   - weight: the checkpoint's (Cout, Cin, k, k) weight, k odd.
    ///   - winograd: whether a 3×3 weight may also run by Winograd (its transform, 4× the weight's
    ///     memory, is built the first time the dispatch rule picks it).
    public init(weight: Tensor, winograd: Bool = true) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3] && weight.shape[2] % 2 == 1,
                     "ConvolutionTaps expects (Cout, Cin, k, k) with k odd, got \(weight.shape)")
        kernelSize = weight.shape[2]
        taps = weight.permuted([2, 3, 0, 1]).contiguous().reshaped([kernelSize * kernelSize, weight.shape[0], weight.shape[1]])
        self.winograd = winograd && kernelSize == 3 ? LazyWinogradKernel(weight: weight) : nil
    }

    public var outChannels: Int { taps.shape[1] }
    public var inChannels: Int { taps.shape[2] }
}
