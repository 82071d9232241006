import CZeroMQ

extension Socket {
    /// Forwards messages between two sockets until the context is terminated (`zmq_proxy`): for an
    /// XSUB `frontend` and an XPUB `backend`, messages flow from the publishers to the subscribers and
    /// subscriptions flow back, so subscribers see one endpoint for many publishers.
    ///
    /// Blocks the calling thread (run it on a dedicated one). Both sockets must have been made on it.
    /// - Throws: the libzmq error that ended the proxy (`ETERM` once the context is terminated).
    public static func proxy(frontend: Socket, backend: Socket) throws(ZeroMQError) {
        while true {
            // zmq_proxy only returns on an error; EINTR (a signal) is retried.
            _ = zmq_proxy(frontend.handle, backend.handle, nil)
            let error = ZeroMQError.last("zmq_proxy")
            if error.errno == EINTR { continue }
            throw error
        }
    }
}
