import Plumbing

extension ServiceThread {
    /// Starts one of Transport's socket threads and waits for its setup (sockets are created and bound
    /// on the thread that will use them): returns the thread and the setup's value; when the setup
    /// fails, joins the thread and throws the setup's error.
    static func startService<Setup: Sendable>(
        name: String,
        _ body: @escaping @Sendable (_ ready: @escaping @Sendable (Result<Setup, TransportError>) -> Void) -> Void
    ) throws(TransportError) -> (thread: ServiceThread, setup: Setup) {
        let started: (thread: ServiceThread, setup: Result<Setup, TransportError>?)
        do {
            started = try ServiceThread.start(name: name, body)
        } catch {
            throw TransportError(.state, "\(error)")
        }
        switch started.setup {
        case .success(let setup)?:
            return (started.thread, setup)
        case .failure(let error)?:
            started.thread.join()
            throw error
        case nil:
            started.thread.join()
            throw TransportError(.state, "\(name) thread ended without reporting its setup")
        }
    }
}
