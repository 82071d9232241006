import ArgumentParser
import WireProtocol

/// `referstream phrase add|set|remove|list`.
struct PhraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phrase",
        abstract: "Add, replace, remove or list the phrases the daemon segments.",
        discussion: controlExitStatuses,
        subcommands: [Add.self, Set.self, Remove.self, List.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start segmenting what a phrase refers to in a stream.",
            discussion: "Prints the new phrase's id; its masks are published on masks/<stream>/<id>.\n\n" + controlExitStatuses)

        @Option(help: ArgumentHelp("The stream to segment in.", valueName: "stream-id"))
        var stream: String

        @Option(help: ArgumentHelp("Choose the phrase id (default: the daemon picks one).", valueName: "phrase-id"))
        var id: String?

        @Argument(help: "The referring phrase, e.g. \"the man in the red jacket\".")
        var text: String

        @OptionGroup var control: ControlOptions

        func run() throws {
            try control.run(.phraseAdd(stream: stream, text: text, id: id), format: formatPhrases)
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the text of a phrase (its id, topic and sequence numbers continue).",
            discussion: controlExitStatuses)

        @Argument(help: "The phrase id.")
        var id: String

        @Argument(help: "The new phrase.")
        var text: String

        @OptionGroup var control: ControlOptions

        func run() throws { try control.run(.phraseSet(id: id, text: text), format: formatPhrases) }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop segmenting a phrase.", discussion: controlExitStatuses)

        @Argument(help: "The phrase id.")
        var id: String

        @OptionGroup var control: ControlOptions

        func run() throws { try control.run(.phraseRemove(id: id)) { _ in "removed \(id)" } }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the phrases, of all streams or of one.", discussion: controlExitStatuses)

        @Option(help: ArgumentHelp("Only this stream's phrases.", valueName: "stream-id"))
        var stream: String?

        @OptionGroup var control: ControlOptions

        func run() throws { try control.run(.phraseList(stream: stream), format: formatPhrases) }
    }
}
