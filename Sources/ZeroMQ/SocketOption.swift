import CZeroMQ

/// Socket options ReferStream sets (`zmq_setsockopt`), each with the value type libzmq expects.
public enum SocketOption: Sendable {
    /// `ZMQ_SNDHWM`: queued outgoing messages per peer before PUB drops / other types block (0: no limit).
    case sendHighWaterMark(Int32)
    /// `ZMQ_RCVHWM`: queued incoming messages per peer.
    case receiveHighWaterMark(Int32)
    /// `ZMQ_MAXMSGSIZE`: a peer sending a larger message is disconnected (-1: no limit).
    case maxMessageSize(Int64)
    /// `ZMQ_RCVTIMEO` in milliseconds (-1: forever).
    case receiveTimeout(milliseconds: Int32)
    /// `ZMQ_SNDTIMEO` in milliseconds (-1: forever).
    case sendTimeout(milliseconds: Int32)
    /// `ZMQ_LINGER` in milliseconds: how long closing waits for unsent messages.
    case linger(milliseconds: Int32)
    /// `ZMQ_ROUTER_MANDATORY`: a ROUTER reports `EHOSTUNREACH` for an unknown peer instead of dropping
    /// the message silently.
    case routerMandatory(Bool)
    /// `ZMQ_IMMEDIATE`: queue messages only to completed connections.
    case immediate(Bool)
    /// `ZMQ_CURVE_SERVER`: act as CurveZMQ server (needs `curveSecretKey`).
    case curveServer(Bool)
    /// `ZMQ_CURVE_PUBLICKEY`: this socket's long-term public key (clients).
    case curvePublicKey(CurveKey)
    /// `ZMQ_CURVE_SECRETKEY`: this socket's long-term secret key (servers and clients).
    case curveSecretKey(CurveKey)
    /// `ZMQ_CURVE_SERVERKEY`: the server's public key (clients).
    case curveServerKey(CurveKey)
    /// `ZMQ_ZAP_DOMAIN`: the authentication domain passed to the ZAP handler.
    case zapDomain(String)
}

extension Socket {
    /// Sets `option` (`zmq_setsockopt`).
    public func set(_ option: SocketOption) throws(ZeroMQError) {
        switch option {
        case .sendHighWaterMark(let v): try setOption(ZMQ_SNDHWM, v, "ZMQ_SNDHWM")
        case .receiveHighWaterMark(let v): try setOption(ZMQ_RCVHWM, v, "ZMQ_RCVHWM")
        case .maxMessageSize(let v): try setOption(ZMQ_MAXMSGSIZE, v, "ZMQ_MAXMSGSIZE")
        case .receiveTimeout(let v): try setOption(ZMQ_RCVTIMEO, v, "ZMQ_RCVTIMEO")
        case .sendTimeout(let v): try setOption(ZMQ_SNDTIMEO, v, "ZMQ_SNDTIMEO")
        case .linger(let v): try setOption(ZMQ_LINGER, v, "ZMQ_LINGER")
        case .routerMandatory(let v): try setOption(ZMQ_ROUTER_MANDATORY, Int32(v ? 1 : 0), "ZMQ_ROUTER_MANDATORY")
        case .immediate(let v): try setOption(ZMQ_IMMEDIATE, Int32(v ? 1 : 0), "ZMQ_IMMEDIATE")
        case .curveServer(let v): try setOption(ZMQ_CURVE_SERVER, Int32(v ? 1 : 0), "ZMQ_CURVE_SERVER")
        case .curvePublicKey(let key): try setBytes(ZMQ_CURVE_PUBLICKEY, key.bytes, "ZMQ_CURVE_PUBLICKEY")
        case .curveSecretKey(let key): try setBytes(ZMQ_CURVE_SECRETKEY, key.bytes, "ZMQ_CURVE_SECRETKEY")
        case .curveServerKey(let key): try setBytes(ZMQ_CURVE_SERVERKEY, key.bytes, "ZMQ_CURVE_SERVERKEY")
        case .zapDomain(let domain): try setBytes(ZMQ_ZAP_DOMAIN, Array(domain.utf8), "ZMQ_ZAP_DOMAIN")
        }
    }

    func setOption(_ option: Int32, _ value: Int64, _ name: String) throws(ZeroMQError) {
        var value = value
        if zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) != 0 {
            throw ZeroMQError.last("zmq_setsockopt(\(name))")
        }
    }

    func setBytes(_ option: Int32, _ bytes: [UInt8], _ name: String) throws(ZeroMQError) {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if rc != 0 { throw ZeroMQError.last("zmq_setsockopt(\(name))") }
    }

    /// Reads an `int` option (`zmq_getsockopt`), e.g. `ZMQ_SNDHWM`; for tests and diagnostics.
    func intOption(_ option: Int32, _ name: String) throws(ZeroMQError) -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        if zmq_getsockopt(handle, option, &value, &size) != 0 { throw ZeroMQError.last("zmq_getsockopt(\(name))") }
        return value
    }

    /// The current send high-water mark (`ZMQ_SNDHWM`).
    public func sendHighWaterMark() throws(ZeroMQError) -> Int32 { try intOption(ZMQ_SNDHWM, "ZMQ_SNDHWM") }
    /// The current receive high-water mark (`ZMQ_RCVHWM`).
    public func receiveHighWaterMark() throws(ZeroMQError) -> Int32 { try intOption(ZMQ_RCVHWM, "ZMQ_RCVHWM") }
    /// The current maximum inbound message size (`ZMQ_MAXMSGSIZE`).
    public func maxMessageSize() throws(ZeroMQError) -> Int64 {
        var value: Int64 = 0
        var size = MemoryLayout<Int64>.size
        if zmq_getsockopt(handle, ZMQ_MAXMSGSIZE, &value, &size) != 0 { throw ZeroMQError.last("zmq_getsockopt(ZMQ_MAXMSGSIZE)") }
        return value
    }
}
