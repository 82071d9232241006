import Foundation
import TestSupport

/// The preprocessing fixtures (`Tests/Fixtures/preprocess/`): the manifest of source images and the
/// reference tensors.
enum PreprocessingFixtures {
    struct Image: Decodable {
        let name: String
        let source_width: Int
        let source_height: Int
        let seed: UInt32
        let source_sha256: String
        let resized_width: Int
        let resized_height: Int
        let resized_sha256: String
    }

    struct Manifest: Decodable { let images: [Image] }

    static func manifest() throws -> Manifest {
        let data = try Data(contentsOf: Fixtures.url("preprocess/preprocess.json"))
        return try JSONDecoder().decode(Manifest.self, from: data)
    }

    static func tensors() throws -> GoldenTensors { try GoldenTensors("preprocess/preprocess.safetensors") }
}

/// The golden README §4 source images: an integer-only formula, checked against the stored SHA-256.
enum SyntheticImage {
    static func hash(_ x: Int, _ y: Int, _ c: Int, _ seed: UInt32) -> UInt32 {
        var h = UInt32(x) &* 0x9E37_79B1 &+ UInt32(y) &* 0x85EB_CA77 &+ UInt32(c) &* 0xC2B2_AE3D &+ seed &* 0x27D4_EB2F
        h ^= h >> 15
        h = h &* 0x2C1B_3C6D
        h ^= h >> 12
        h = h &* 0x297A_2D39
        h ^= h >> 15
        return h
    }

    /// HWC RGB bytes of a `width × height` image.
    static func make(width W: Int, height H: Int, seed: UInt32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: W * H * 3)
        let box: [Int] = [250, 20, 40], disc: [Int] = [10, 200, 90]
        for y in 0..<H {
            for x in 0..<W {
                for c in 0..<3 {
                    var v = c == 0 ? (x * 255) / (W - 1) : c == 1 ? (y * 255) / (H - 1) : ((x + y) * 255) / (W + H - 2)
                    if W / 5 <= x && x < W / 2 && H / 4 <= y && y < (3 * H) / 5 { v = box[c] }
                    let dx = x - (3 * W) / 4, dy = y - H / 3, r = H / 5
                    if dx * dx + dy * dy < r * r { v = disc[c] }
                    if x < W / 4 && y >= (2 * H) / 3 { v = ((x / 2 + y / 2) % 2 == 0) ? 255 : 0 }
                    if x % 37 == 5 { v = 0 }
                    if x == (y * W) / H { v = 255 }
                    let noise = Int(hash(x, y, c, seed) % 33) - 16
                    out[(y * W + x) * 3 + c] = UInt8(min(max(v + noise, 0), 255))
                }
            }
        }
        return out
    }
}

/// SHA-256 (FIPS 180-4), for checking regenerated images against the fixture's digests.
enum SHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func hex(_ message: [UInt8]) -> String {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var data = message
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        let bits = UInt64(message.count) * 8
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        func rotr(_ v: UInt32, _ n: UInt32) -> UInt32 { (v >> n) | (v << (32 - n)) }
        var w = [UInt32](repeating: 0, count: 64)
        for block in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let j = block + 4 * i
                w[i] = UInt32(data[j]) << 24 | UInt32(data[j + 1]) << 16 | UInt32(data[j + 2]) << 8 | UInt32(data[j + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h = [h[0] &+ a, h[1] &+ b, h[2] &+ c, h[3] &+ d, h[4] &+ e, h[5] &+ f, h[6] &+ g, h[7] &+ hh]
        }
        return h.map { word in
            let s = String(word, radix: 16)
            return String(repeating: "0", count: 8 - s.count) + s
        }.joined()
    }
}
