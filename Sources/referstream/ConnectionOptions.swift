import ArgumentParser
import Foundation
import Transport
import WireProtocol
import ZeroMQ

/// CURVE options shared by every command that connects to the daemon.
struct CurveOptions: ParsableArguments {
    @Option(name: .customLong("server-key"), help: ArgumentHelp(
        "The daemon's CURVE public key (40 Z85 characters). Enables CURVE; needs --public-key and --secret-key.",
        valueName: "z85"))
    var serverKey: String?

    @Option(name: .customLong("public-key"), help: ArgumentHelp("This client's CURVE public key (Z85).", valueName: "z85"))
    var publicKey: String?

    @Option(name: .customLong("secret-key"), help: ArgumentHelp("This client's CURVE secret key (Z85).", valueName: "z85"))
    var secretKey: String?

    func validate() throws {
        let given = [serverKey, publicKey, secretKey].compactMap { $0 }.count
        if given != 0 && given != 3 {
            throw ValidationError("CURVE needs all three of --server-key, --public-key and --secret-key")
        }
    }

    func configuration() throws -> CurveClientConfiguration? {
        guard let serverKey, let publicKey, let secretKey else { return nil }
        do {
            return CurveClientConfiguration(
                serverKey: try CurveKey(z85: serverKey),
                keyPair: CurveKeyPair(publicKey: try CurveKey(z85: publicKey), secretKey: try CurveKey(z85: secretKey)))
        } catch {
            throw ValidationError("bad CURVE key: \(error)")
        }
    }
}

/// Options of the commands that use the control socket.
struct ControlOptions: ParsableArguments {
    @Option(name: .customLong("control"), help: ArgumentHelp("The daemon's control endpoint.", valueName: "endpoint"))
    var endpoint = "tcp://127.0.0.1:5560"

    @Option(help: ArgumentHelp("Seconds to wait for a reply; the request is retried once on a fresh socket.", valueName: "seconds"))
    var timeout: Double = 3

    @Flag(help: "Print the daemon's JSON reply as it came.")
    var json = false

    @OptionGroup var curve: CurveOptions

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
    }

    /// Sends `command`, prints the reply (`format` for success unless --json) and exits non-zero on an
    /// error reply or no reply.
    func run(_ command: ControlCommand, format: (JSONValue) -> String) throws {
        let context = try Context()
        let client = ControlClient(context: context, endpoint: endpoint, timeoutMilliseconds: Int(timeout * 1000),
                                   retries: 1, curve: try curve.configuration())
        let response: ControlResponse
        do {
            response = try client.send(command)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        if json { print(String(decoding: response.jsonBytes(), as: UTF8.self)) }
        switch response.outcome {
        case .success(let result):
            if !json { print(format(result)) }
        case .failure(let error):
            if !json { printError("error: \(error.code.rawValue): \(error.message)") }
            throw ExitCode(1)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// One line per phrase: id, stream, quoted text.
func formatPhrases(_ value: JSONValue) -> String {
    let phrases: [PhraseInfo]
    if let list = try? value.decode(as: [PhraseInfo].self) { phrases = list }
    else if let one = try? value.decode(as: PhraseInfo.self) { phrases = [one] }
    else { return String(decoding: value.jsonBytes(), as: UTF8.self) }
    if phrases.isEmpty { return "(no phrases)" }
    let width = phrases.map(\.id.count).max() ?? 0
    return phrases.map { "\($0.id.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.stream)  \"\($0.text)\"" }
        .joined(separator: "\n")
}
