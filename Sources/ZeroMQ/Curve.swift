import CZeroMQ

/// A CurveZMQ key: 32 bytes, usually written as 40 Z85 characters.
public struct CurveKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 key bytes.
    public let bytes: [UInt8]

    /// A key from its 32 bytes.
    public init(bytes: [UInt8]) throws(ZeroMQError) {
        guard bytes.count == 32 else { throw ZeroMQError(errno: EINVAL, operation: "CurveKey(bytes:) with \(bytes.count) bytes, not 32") }
        self.bytes = bytes
    }

    /// A key from its 40-character Z85 text (`zmq_z85_decode`).
    public init(z85: String) throws(ZeroMQError) {
        let text = Array(z85.utf8)
        guard text.count == 40 else {
            throw ZeroMQError(errno: EINVAL, operation: "CurveKey(z85:) with \(text.count) characters, not 40")
        }
        var decoded = [UInt8](repeating: 0, count: 32)
        let ok = (text + [0]).withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { zmq_z85_decode(&decoded, $0.baseAddress) != nil }
        }
        guard ok else { throw ZeroMQError(errno: EINVAL, operation: "zmq_z85_decode: not Z85 text") }
        self.bytes = decoded
    }

    /// The key as 40 Z85 characters (`zmq_z85_encode`).
    public var z85: String { Z85.encode(bytes) ?? "" }

    public var description: String { z85 }
}

/// A CurveZMQ long-term key pair.
public struct CurveKeyPair: Sendable, Hashable {
    public let publicKey: CurveKey
    public let secretKey: CurveKey

    public init(publicKey: CurveKey, secretKey: CurveKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A new random key pair (`zmq_curve_keypair`).
    /// - Throws: `ENOTSUP` when libzmq was built without CURVE support.
    public static func generate() throws(ZeroMQError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        if zmq_curve_keypair(&publicText, &secretText) != 0 { throw ZeroMQError.last("zmq_curve_keypair") }
        let publicKey = String(decoding: publicText.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let secretKey = String(decoding: secretText.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return CurveKeyPair(publicKey: try CurveKey(z85: publicKey), secretKey: try CurveKey(z85: secretKey))
    }

    /// Whether libzmq supports CURVE (`zmq_has("curve")`).
    public static var isAvailable: Bool { zmq_has("curve") != 0 }
}

/// Z85 text encoding of binary data (ZeroMQ RFC 32), as used for CURVE keys.
public enum Z85 {
    /// Encodes `bytes`, whose count must be a multiple of 4 (`zmq_z85_encode`); nil otherwise.
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var text = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        let ok = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) != nil }
        guard ok else { return nil }
        return String(decoding: text.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes Z85 `text`, whose length must be a multiple of 5 (`zmq_z85_decode`); nil otherwise.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 5 == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: chars.count * 4 / 5)
        let ok = (chars + [0]).withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { zmq_z85_decode(&bytes, $0.baseAddress) != nil }
        }
        return ok ? bytes : nil
    }
}
