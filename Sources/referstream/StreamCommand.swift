import ArgumentParser
import WireProtocol

/// `referstream stream add|remove|list`: start and stop the daemon's declared streams at runtime.
struct StreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Start, stop or list the daemon's streams (those declared in its configuration).",
        subcommands: [Add.self, Remove.self, List.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a stream declared in the daemon's configuration (also one with enabled: false).")

        @Argument(help: "The stream id.")
        var stream: String

        @OptionGroup var control: ControlOptions

        func run() throws { try control.run(.streamAdd(stream: stream), format: formatStreams) }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a stream: its source is released; its phrases are kept for a later `stream add`.")

        @Argument(help: "The stream id.")
        var stream: String

        @OptionGroup var control: ControlOptions

        func run() throws { try control.run(.streamRemove(stream: stream), format: formatStreams) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the declared streams and their state.")

        @OptionGroup var control: ControlOptions

        func run() throws { try control.run(.streamList, format: formatStreams) }
    }
}

/// One line per stream: id, state, running or not.
func formatStreams(_ value: JSONValue) -> String {
    let streams: [StreamInfo]
    if let list = try? value.decode(as: [StreamInfo].self) { streams = list }
    else if let one = try? value.decode(as: StreamInfo.self) { streams = [one] }
    else { return String(decoding: value.jsonBytes(), as: UTF8.self) }
    if streams.isEmpty { return "(no streams)" }
    let width = streams.map(\.id.count).max() ?? 0
    return streams.map { "\($0.id.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.state)  \($0.active ? "running" : "stopped")" }
        .joined(separator: "\n")
}
