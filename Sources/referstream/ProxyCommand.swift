import ArgumentParser
import Foundation
import ZeroMQ

/// `referstream proxy`: one endpoint for the masks of many daemons (libzmq's `zmq_proxy`, XSUB/XPUB).
struct ProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Forward the masks and events of several daemons to subscribers on one endpoint.",
        discussion: """
            The XSUB side connects to each daemon's mask endpoint (--from, repeated); the XPUB side binds \
            --listen for subscribers, whose subscriptions are forwarded to the daemons, so topic filtering \
            still happens at the publishers. Messages pass through unchanged ([topic, header, payload]); \
            sequence numbers stay per daemon, stream and phrase. Runs until interrupted.
            """)

    @Option(name: .customLong("from"), help: ArgumentHelp("A daemon's mask endpoint to forward (repeat for several).", valueName: "endpoint"))
    var sources: [String] = []

    @Option(help: ArgumentHelp("Where subscribers connect.", valueName: "endpoint"))
    var listen = "tcp://127.0.0.1:5571"

    func validate() throws {
        if sources.isEmpty { throw ValidationError("give at least one --from ENDPOINT (a daemon's transport.masks)") }
    }

    func run() throws {
        // SIGTERM and SIGINT end the forwarder at once (there is nothing to flush), also when the parent
        // started it with them ignored or blocked (both are inherited; libdispatch blocks them).
        var set = sigset_t()
        sigemptyset(&set)
        for number in [SIGTERM, SIGINT] {
            signal(number) { _ in _exit(0) }
            sigaddset(&set, number)
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        do {
            let context = try Context()
            let frontend = try Socket(context, .xsub)
            for source in sources { try frontend.connect(source) }
            let backend = try Socket(context, .xpub)
            try backend.bind(listen)
            printError("proxy: forwarding \(sources.joined(separator: ", ")) to \(try backend.lastEndpoint())")
            try Socket.proxy(frontend: frontend, backend: backend)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
