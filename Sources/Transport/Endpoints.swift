import ZeroMQ

/// CurveZMQ settings of a server socket (the mask publisher or the control server).
public struct CurveServerConfiguration: Sendable {
    /// The server's long-term key pair; clients configure its public key.
    public var keyPair: CurveKeyPair
    /// Client public keys allowed to connect; nil accepts any client that knows the server key
    /// (encryption without client authentication). A non-nil set needs a running `CurveAuthenticator`
    /// on the same context.
    public var allowedClientKeys: Set<CurveKey>?

    public init(keyPair: CurveKeyPair, allowedClientKeys: Set<CurveKey>? = nil) {
        self.keyPair = keyPair
        self.allowedClientKeys = allowedClientKeys
    }

    /// The ZAP domain ReferStream's server sockets use.
    public static let zapDomain = "referstream"

    func apply(to socket: Socket) throws(ZeroMQError) {
        try socket.set(.curveServer(true))
        try socket.set(.curveSecretKey(keyPair.secretKey))
        try socket.set(.zapDomain(Self.zapDomain))
    }
}

/// CurveZMQ settings of a client socket (`referstream` commands, subscribers).
public struct CurveClientConfiguration: Sendable {
    /// The server's public key.
    public var serverKey: CurveKey
    /// This client's key pair (its public key must be in the server's allowed set, when it has one).
    public var keyPair: CurveKeyPair

    public init(serverKey: CurveKey, keyPair: CurveKeyPair) {
        self.serverKey = serverKey
        self.keyPair = keyPair
    }

    func apply(to socket: Socket) throws(ZeroMQError) {
        try socket.set(.curveServerKey(serverKey))
        try socket.set(.curvePublicKey(keyPair.publicKey))
        try socket.set(.curveSecretKey(keyPair.secretKey))
    }
}

/// Endpoint rules for sockets the daemon binds.
public enum EndpointPolicy {
    /// Whether binding `endpoint` stays on this machine: `ipc://`, `inproc://`, or `tcp://` on a
    /// loopback address (127.x.x.x, `localhost`, `[::1]`). `tcp://*`, `0.0.0.0` and any other
    /// interface are not local.
    public static func isLocal(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        let address = endpoint.dropFirst("tcp://".count)
        let host: Substring
        if address.hasPrefix("[") {
            host = address.prefix(while: { $0 != "]" }).dropFirst()
        } else {
            host = address.prefix(while: { $0 != ":" })
        }
        return host.hasPrefix("127.") || host == "localhost" || host == "::1"
    }

    static func check(_ endpoint: String, allowNonLocal: Bool, what: String) throws(TransportError) {
        if !allowNonLocal && !isLocal(endpoint) {
            throw TransportError(
                .configuration,
                "\(what) endpoint \(endpoint) is reachable from other machines; bind ipc:// or tcp://127.0.0.1, or opt in explicitly (allow non-local binding) and configure CURVE")
        }
    }
}
