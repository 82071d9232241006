import ArgumentParser
import Foundation
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
            checkpoint (.pth) into safetensors, which loads memory-mapped; evaluate scores masks against \
            DAVIS-style annotations (J, F, J&F).

            Daemon commands: the daemon (referstreamd) segments the object a phrase refers to in live \
            video and publishes one mask per frame and phrase over ZeroMQ. phrase, stream, status and \
            subscribe use its control socket (default tcp://127.0.0.1:5560) and its mask socket (default \
            tcp://127.0.0.1:5561); proxy joins the mask sockets of several daemons into one endpoint. The \
            wire protocol is documented in docs/protocol.md.
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
    ///
    /// Errors end here as one prefix style: ReferStream's own messages are `error: …`, and ArgumentParser's
    /// usage errors (which it writes as `Error: …` followed by the usage) get the same lower-case prefix.
    /// Exit statuses are ArgumentParser's (64 for usage errors) or the command's own.
    static func main() {
        _ = TensorRuntime.restartWithFastestKernelIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }  // --help, --version
            } else if !message.isEmpty {
                let text = message.hasPrefix("Error: ") ? "error: " + message.dropFirst("Error: ".count) : Substring(message)
                FileHandle.standardError.write(Data((text + "\n").utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}
