import ArgumentParser

/// `referstream`: the user's command line. One file per subcommand group; model commands (segment,
/// infer, convert, tokenize) join `subcommands` from their own files.
@main
struct ReferStreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "referstream",
        abstract: "Talk to a running ReferStream daemon: manage phrases, query status, watch the mask stream.",
        discussion: """
            The daemon (referstreamd) segments the object a phrase refers to in live video and publishes one \
            mask per frame and phrase over ZeroMQ. These commands use its control socket \
            (default tcp://127.0.0.1:5560) and its mask socket (default tcp://127.0.0.1:5561). \
            The wire protocol is documented in docs/protocol.md.
            """,
        subcommands: [PhraseCommand.self, StatusCommand.self, SubscribeCommand.self]
    )
}
