import ArgumentParser
import Daemon
import Foundation
import Logging
import WireProtocol

/// `referstreamd`: parse, validate, build the daemon, run. The logic lives in the Daemon module.
@main
struct ReferStreamDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "referstreamd",
        abstract: "Segment what phrases refer to in live video and publish the masks over ZeroMQ.",
        discussion: """
            Reads a YAML configuration (every key is documented in config/referstreamd.yaml), loads the \
            model once, and runs every stream on it: frames from GStreamer (files, RTSP, cameras), masks \
            on the PUB socket, phrase and stream changes on the control socket (referstream phrase …), \
            Prometheus metrics and health on HTTP. SIGTERM or SIGINT stops it within 2 s; a second signal \
            exits at once. Under systemd it reports READY=1, STATUS= and watchdog keep-alives.
            """)

    @Option(name: .customLong("config"), help: ArgumentHelp("The configuration file.", valueName: "file"))
    var config: String?

    @Option(name: .customLong("check-config"), help: ArgumentHelp(
        "Check a configuration file: parse it, load the weights and tokenizer, check the ports, print the plan and exit.",
        valueName: "file"))
    var checkConfig: String?

    @Option(help: ArgumentHelp("Overrides model.weights.", valueName: "file")) var weights: String?
    @Option(help: ArgumentHelp("Overrides model.tokenizer.", valueName: "dir")) var tokenizer: String?
    @Option(help: ArgumentHelp("Overrides model.threads.", valueName: "n")) var threads: Int?
    @Option(help: ArgumentHelp("Overrides transport.masks.", valueName: "endpoint")) var masks: String?
    @Option(help: ArgumentHelp("Overrides transport.control.", valueName: "endpoint")) var control: String?
    @Option(help: ArgumentHelp("Overrides transport.encoding (rle, png, bits).", valueName: "encoding")) var encoding: String?
    @Option(help: ArgumentHelp("Overrides metrics.listen (host:port, or 'off').", valueName: "host:port")) var metrics: String?
    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        if (config == nil) == (checkConfig == nil) {
            throw ValidationError("give either --config FILE (run) or --check-config FILE (check and exit)")
        }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be between 1 and 256") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
        if let encoding, MaskEncoding(rawValue: encoding) == nil { throw ValidationError("--encoding must be rle, png or bits") }
        if let metrics, metrics != "off", HostPort(metrics) == nil { throw ValidationError("--metrics must be host:port (e.g. 127.0.0.1:9464) or off") }
    }

    func run() async throws {
        LoadedModel.chooseBLASKernel()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let logger = Logger(label: "referstreamd") { StderrLogHandler(label: $0, level: level) }
        let path = checkConfig ?? config ?? ""
        // At once, before the model loads: a SIGTERM from now on is never lost.
        let signals = checkConfig == nil ? ShutdownSignals.install() : nil
        signals?.setLogger(logger)
        do {
            var configuration = try DaemonConfiguration(contentsOfFile: path)
            applyOverrides(to: &configuration)
            if signals != nil { logger.info("loading the model (\(configuration.model.weights ?? LoadedModel.bundledModelDescription()))") }
            let model = try LoadedModel.load(configuration.model, file: configuration.file)
            if !configuration.model.shorterSideGiven, let side = model.trainedShorterSide {
                configuration.model.shorterSide = side   // the size the model was trained at
            }
            try DaemonPlan.checkPhrases(configuration, model: model)
            if checkConfig != nil {
                try DaemonPlan.checkPorts(configuration)
                print("configuration \(path) is valid")
                print(DaemonPlan.describe(configuration, model: model))
                return
            }
            let daemon = try Daemon(configuration: configuration, model: model, logger: logger)
            try daemon.bind()
            try await daemon.run(signals: signals)
        } catch let error as DaemonError {
            FileHandle.standardError.write(Data("referstreamd: error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    private func applyOverrides(to c: inout DaemonConfiguration) {
        if let weights { c.model.weights = weights; c.model.lines["weights"] = nil }
        if let tokenizer { c.model.tokenizer = tokenizer; c.model.lines["tokenizer"] = nil }
        if let threads { c.model.threads = threads }
        if let masks { c.transport.masks = [masks]; c.transport.lines["masks"] = nil }
        if let control { c.transport.control = control; c.transport.lines["control"] = nil }
        if let encoding, let value = MaskEncoding(rawValue: encoding) { c.transport.encoding = value }
        if let metrics {
            c.metrics.listen = metrics == "off" ? nil : HostPort(metrics)
            c.metrics.lines["listen"] = nil
        }
    }
}
