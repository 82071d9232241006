import ArgumentParser
import WireProtocol

/// `referstream status`.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the daemon's status: streams, phrases, rates and drop counters.",
        discussion: controlExitStatuses)

    @OptionGroup var control: ControlOptions

    func run() throws {
        try control.run(.status) { result in
            guard case .object(let object) = result else { return String(decoding: result.jsonBytes(), as: UTF8.self) }
            return object.keys.sorted().map { "\($0): \(String(decoding: object[$0]!.jsonBytes(), as: UTF8.self))" }
                .joined(separator: "\n")
        }
    }
}
