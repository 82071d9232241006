import Foundation
import Synchronization
import Logging
import ServiceLifecycle
import Transport
import VideoIngest
import WireProtocol
import ZeroMQ

/// The daemon: ingest, inference, publishing, control and the HTTP endpoint, wired together and run as
/// swift-service-lifecycle services in one `ServiceGroup`.
///
/// Lifecycle: `init` builds everything without touching the network; `bind()` binds the mask and
/// control sockets (and checks the HTTP port), so that configuration mistakes surface before anything
/// runs; `run()` tells systemd `READY=1`, starts the streams and runs until SIGTERM/SIGINT. Shutdown
/// is in reverse order: the HTTP endpoint closes, control stops, sources stop, inference drains (the
/// window in flight finishes or is abandoned after `inferenceGrace`), and the publisher sends each
/// stream's final `stream.stopped` event and flushes.
public final class Daemon: Sendable {
    public let configuration: DaemonConfiguration
    public let model: LoadedModel
    let logger: Logger
    let notifier: SystemdNotifier
    let metrics: DaemonMetrics
    let context: Context
    let publisher: MaskPublisher
    let hub: StreamHub
    let control: ControlServer
    let inference: InferenceLoop
    private let bound = Mutex<(masks: [String], control: String)?>(nil)

    /// How long shutdown waits for the window in flight before abandoning it.
    public static let inferenceGrace: Duration = .milliseconds(1000)

    public init(configuration: DaemonConfiguration, model: LoadedModel, logger: Logger,
                notifier: SystemdNotifier = SystemdNotifier()) throws(DaemonError) {
        self.configuration = configuration
        self.model = model
        self.logger = logger
        self.notifier = notifier
        let metrics = DaemonMetrics()
        self.metrics = metrics
        do { context = try Context() } catch {
            throw DaemonError(.runtime, "cannot create the ZeroMQ context", underlying: "\(error)")
        }
        let t = configuration.transport
        // The status callback is made before the hub it reports on (the hub needs the publisher).
        let hubBox = HubSlot()
        publisher = MaskPublisher(
            context: context,
            configuration: .init(endpoints: t.masks, encoding: t.encoding, sendHighWaterMark: Int32(t.sendHighWaterMark),
                                 allowNonLocalEndpoints: t.allowRemote),
            statusDetails: {
                guard let hub = hubBox.hub.withLock({ $0 }) else { return .null }
                return .object(["streams": .array(hub.reports().map(DaemonController.report))])
            })
        let hub = StreamHub(streams: configuration.streams, publisher: publisher, metrics: metrics, logger: logger)
        self.hub = hub
        hubBox.hub.withLock { $0 = hub }
        let limits = ControlLimits(phraseValidator: { [model] text in model.rejection(of: text) })
        do {
            control = try ControlServer(
                context: context,
                configuration: .init(endpoint: t.control, allowNonLocalEndpoint: t.allowRemote, limits: limits),
                handler: DaemonController(hub: hub))
        } catch {
            throw DaemonError(.bind, error.message, key: "transport.control", line: t.lines["control"], file: configuration.file)
        }
        inference = InferenceLoop(hub: hub, model: model, shorterSide: configuration.model.shorterSide,
                                  pixelDecoder: configuration.model.pixelDecoder, notifier: notifier,
                                  metrics: metrics, logger: logger)
    }

    /// Binds the mask and control sockets and checks that the HTTP port is free.
    /// - Returns: the bound endpoints (real ports for `tcp://…:*`).
    /// - Throws: `DaemonError(.bind)` naming the `transport.*` or `metrics.listen` key.
    @discardableResult
    public func bind() throws(DaemonError) -> (masks: [String], control: String) {
        let t = configuration.transport
        if let listen = configuration.metrics.listen {
            try PortCheck.check(listen, key: "metrics.listen", line: configuration.metrics.lines["listen"], file: configuration.file)
        }
        let masks: [String]
        do { masks = try publisher.start() } catch {
            throw DaemonError(.bind, "\(error.message); is another referstreamd running? choose another endpoint", key: "transport.masks",
                              line: t.lines["masks"], file: configuration.file)
        }
        let control: String
        do { control = try self.control.start() } catch {
            publisher.stop()
            throw DaemonError(.bind, "\(error.message); is another referstreamd running? choose another endpoint", key: "transport.control",
                              line: t.lines["control"], file: configuration.file)
        }
        bound.withLock { $0 = (masks, control) }
        return (masks, control)
    }

    /// Runs until `signals` reports SIGTERM or SIGINT (graceful, at most about 2 s) or until the task is cancelled.
    /// Without `signals` only cancellation stops it.
    public func run(signals: ShutdownSignals? = nil) async throws {
        if bound.withLock({ $0 }) == nil { try bind() }
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: PublisherService(daemon: self), serviceName: "publisher"),
            .init(service: InferenceService(daemon: self), serviceName: "inference"),
            .init(service: IngestService(daemon: self), serviceName: "ingest"),
            .init(service: ControlService(daemon: self), serviceName: "control"),
            .init(service: HTTPService(daemon: self), serviceName: "http"),
        ]
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [], logger: logger)
        // The 2 s budget: whatever has not finished by then is cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(1900)
        groupConfiguration.maximumCancellationDuration = .milliseconds(300)
        let group = ServiceGroup(configuration: groupConfiguration)
        // Before "ready": a signal that came during the model load shuts the group down as soon as it starts.
        signals?.onShutdown { _ in Task { await group.triggerGracefulShutdown() } }
        let (masks, control) = bound.withLock({ $0 }) ?? ([], "")
        logger.info("ready: masks on \(masks.joined(separator: ", ")), control on \(control)\(configuration.metrics.listen.map { ", HTTP on \($0)" } ?? ""); \(configuration.streams.count) streams; \(model.summary)")
        notifier.ready(status: "model loaded; masks on \(masks.joined(separator: ", ")); control on \(control)")
        try await group.run()
        logger.info("stopped")
    }

    /// Starts the enabled streams (the ingest service does this at start).
    func startStreams() {
        for id in hub.declaredEnabledStreams() {
            do { try hub.startStream(id) } catch {
                logger.with(stream: id).error("\(error.message)")
            }
        }
    }
}

/// Lets the publisher's status callback find the hub made after it (a cycle publisher → hub →
/// publisher that lives as long as the daemon, which lives as long as the process).
final class HubSlot: Sendable {
    let hub = Mutex<StreamHub?>(nil)
}
