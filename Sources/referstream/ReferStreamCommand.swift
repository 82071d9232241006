import ArgumentParser
import Tensor

/// `referstream`: the user's command line. One file per subcommand group; model commands (segment,
/// infer, convert, tokenize) join `subcommands` from their own files.
@main
struct ReferStreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "referstream",
        abstract: "ReferStream's command line: run the model on files, and talk to a running daemon.",
        discussion: """
            Model commands work on files, without a daemon: segment writes PNG masks of what phrases \
            refer to in a video or a folder of frames; infer runs the network on normalised frames and \
            writes every output under the official names (parity checks); tokenize shows how a phrase \
            is read by the text encoder and how long it is; convert turns an official PyTorch \
            checkpoint (.pth) into safetensors, which loads memory-mapped.

            Daemon commands: the daemon (referstreamd) segments the object a phrase refers to in live \
            video and publishes one mask per frame and phrase over ZeroMQ. phrase, status and subscribe \
            use its control socket (default tcp://127.0.0.1:5560) and its mask socket (default \
            tcp://127.0.0.1:5561). The wire protocol is documented in docs/protocol.md.
            """,
        version: referStreamVersion,
        subcommands: [
            SegmentCommand.self, InferCommand.self, TokenizeCommand.self, ConvertCommand.self,
            PhraseCommand.self, StatusCommand.self, SubscribeCommand.self,
            StreamCommand.self, ProxyCommand.self, EvaluateCommand.self,
        ]
    )

    /// The OpenBLAS kernel restart (it re-executes the process) comes first, before any thread or
    /// pipeline exists.
    static func main() {
        _ = TensorRuntime.restartWithFastestKernelIfNeeded()
        main(nil)
    }
}
