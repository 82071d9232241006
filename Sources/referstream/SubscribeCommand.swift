import ArgumentParser
import Foundation
import Transport
import WireProtocol
import ZeroMQ

/// `referstream subscribe`.
struct SubscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Watch the mask stream: one line per mask, with its age and any gaps.",
        discussion: """
            Each line shows stream/phrase, sequence number, frame index, age (capture to arrival), \
            presence, score, box, track, size and encoding, the text the mask answered (text="…", \
            JSON-quoted: after `phrase set` it tells old and new masks apart) and, when masks were \
            missed, the gap. With --save-dir every mask is \
            written as a PNG (0/255); --overlay also writes the mask tinted in a colour per phrase.

            When nothing listens at the mask endpoint, subscribe says so and exits at once (status 2). \
            Otherwise it waits for masks like tail -f: the daemon publishes only for phrases that exist, \
            so until one is added (referstream phrase add) nothing arrives; a notice on standard error \
            says it is still waiting. With --timeout it gives up when no mask arrives for that long.

            Exit status: 0 --count masks received; 2 no daemon at the endpoint; 3 no mask within \
            --timeout; 64 bad arguments; Ctrl-C stops it (130).
            """)

    @Option(name: .customLong("masks"), help: ArgumentHelp("The daemon's mask endpoint.", valueName: "endpoint"))
    var endpoint = "tcp://127.0.0.1:5561"

    @Option(help: ArgumentHelp("Only this stream.", valueName: "stream-id"))
    var stream: String?

    @Option(help: ArgumentHelp("Only this phrase id.", valueName: "phrase-id"))
    var phrase: String?

    @Option(name: .customLong("save-dir"), help: ArgumentHelp(
        "Write each mask to DIR/<stream>_<phrase>_<frame>.png.", valueName: "dir"))
    var saveDirectory: String?

    @Flag(help: "With --save-dir, also write <…>_overlay.png: the mask in the phrase's colour on a transparent background (RGBA), to lay over the frame.")
    var overlay = false

    @Option(help: ArgumentHelp("Exit after this many masks.", valueName: "n"))
    var count: Int?

    @Option(help: ArgumentHelp("Exit with status 3 when no mask arrives for this long (default: wait, with a notice every few seconds).", valueName: "seconds"))
    var timeout: Double?

    @OptionGroup var curve: CurveOptions

    func validate() throws {
        if overlay && saveDirectory == nil { throw ValidationError("--overlay needs --save-dir") }
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
        try validateClientEndpoint(endpoint, option: "--masks")
    }

    func run() throws {
        try requireListener(at: endpoint, option: "--masks")
        if let saveDirectory {
            try FileManager.default.createDirectory(atPath: saveDirectory, withIntermediateDirectories: true)
        }
        let context = try Context()
        let subscriber = try MaskSubscriber(context: context, endpoint: endpoint, stream: stream, phrase: phrase,
                                            curve: try curve.configuration())
        printError("subscribed to \(Topic.maskPrefix(stream: stream))\(phrase.map { "*/\($0)" } ?? "") on \(endpoint)")
        var received = 0
        var waited = 0.0, sinceNotice = 0.0
        // Wake up every 5 s to tell the operator we are still waiting, and exactly at --timeout.
        let noticeInterval = 5.0
        while count.map({ received < $0 }) ?? true {
            let step = min(noticeInterval - sinceNotice, (timeout ?? .infinity) - waited)
            guard let mask = try subscriber.next(timeoutMilliseconds: max(1, Int((step * 1000).rounded()))) else {
                waited += step
                sinceNotice += step
                if let timeout, waited >= timeout {
                    printError("error: no mask arrived from \(endpoint) within \(formatSeconds(timeout))"
                        + (received == 0 ? " (does the daemon have a phrase? list them with `referstream phrase list`)" : ""))
                    throw ExitCode(3)
                }
                if sinceNotice >= noticeInterval {
                    sinceNotice = 0
                    printError(received == 0
                        ? "waiting for the first mask from \(endpoint) (\(formatSeconds(waited))); masks flow once a phrase is added: referstream phrase add --stream ID \"…\""
                        : "waiting for masks from \(endpoint) (none for \(formatSeconds(waited)))")
                }
                continue
            }
            sinceNotice = 0
            waited = 0
            received += 1
            // Written unbuffered: one line per mask as it arrives, also into a pipe.
            FileHandle.standardOutput.write(Data((line(for: mask, totalMissed: subscriber.totalMissed) + "\n").utf8))
            if let saveDirectory { save(mask, in: saveDirectory) }
        }
    }

    func line(for mask: ReceivedMask, totalMissed: UInt64) -> String {
        let h = mask.header
        var text = "\(h.stream)/\(h.phraseID) seq=\(h.sequence) frame=\(h.frame) age=\(String(format: "%.1f", mask.age * 1000))ms"
        text += h.present ? " present" : " absent"
        text += " score=\(String(format: "%.3f", h.score))"
        if let box = h.box { text += " box=[" + box.map { String(format: "%.0f", $0) }.joined(separator: ",") + "]" }
        if let track = h.trackID { text += " track=\(track)" }
        text += " \(h.width)x\(h.height) \(h.encoding.rawValue) \(mask.payload.count)B"
        text += " text=\(jsonString(h.phrase))"
        if mask.missed > 0 { text += " GAP missed=\(mask.missed) (total \(totalMissed))" }
        return text
    }

    func save(_ mask: ReceivedMask, in directory: String) {
        let h = mask.header
        let base = URL(fileURLWithPath: directory)
            .appendingPathComponent("\(h.stream)_\(h.phraseID)_\(String(format: "%08lld", h.frame))")
        do {
            if h.encoding == .png {
                try Data(mask.payload).write(to: base.appendingPathExtension("png"))
                if overlay { printError("--overlay is not available for png-encoded streams; saved the mask only") }
                return
            }
            let binary = try mask.mask()
            try Data(PNG.encode(binary)).write(to: base.appendingPathExtension("png"))
            if overlay {
                let url = URL(fileURLWithPath: base.path + "_overlay.png")
                try Data(PNG.encodeTinted(binary, color: colour(for: h.phraseID))).write(to: url)
            }
        } catch {
            printError("cannot save the mask of frame \(h.frame): \(error)")
        }
    }

    /// A stable, saturated colour per phrase id (FNV-1a hash into a small palette).
    func colour(for phrase: String) -> (UInt8, UInt8, UInt8) {
        let palette: [(UInt8, UInt8, UInt8)] = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
                                                (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230)]
        var hash: UInt32 = 2_166_136_261
        for byte in phrase.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return palette[Int(hash % UInt32(palette.count))]
    }
}
