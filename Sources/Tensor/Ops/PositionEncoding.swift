// Sine position encodings of ReferFormer (models/position_encoding.py).

#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// `temperature^(2·⌊k/2⌋ / F)` for k in 0..<F, in Float like the official float32 `dim_t`.
    static func sineFrequencies(_ numPosFeats: Int, temperature: Float) -> [Float] {
        (0..<numPosFeats).map { k in powf(temperature, Float(2 * (k / 2)) / Float(numPosFeats)) }
    }

    /// Official `PositionEmbeddingSine2D(numPosFeats, temperature, normalize=True, scale=2π)` for one
    /// (h, w) map → (1, 2F, h, w): channels [0, F) encode y, [F, 2F) encode x, interleaved sin/cos.
    ///
    /// `y = (cumsum(not mask) − 0.5) / (last + 1e-6) · 2π` (the Deformable-DETR −0.5 variant), and the
    /// same for x; element 2m = sin(v / d_2m), 2m+1 = cos(v / d_2m). `mask` (h × w, `true` = padding)
    /// defaults to no padding.
    public static func sinePositionEncoding2D(height: Int, width: Int, numPosFeats: Int, temperature: Float = 10000,
                                              mask: [[Bool]]? = nil) -> Tensor {
        precondition(height > 0 && width > 0 && numPosFeats > 0 && numPosFeats % 2 == 0, "sinePositionEncoding2D: invalid size \(height)×\(width) or \(numPosFeats) features")
        if let mask { precondition(mask.count == height && mask.allSatisfy { $0.count == width }, "sinePositionEncoding2D: mask is not \(height) × \(width)") }
        let valid: (Int, Int) -> Bool = { y, x in !(mask?[y][x] ?? false) }
        // Cumulative counts of valid pixels down each column and along each row.
        var yCum = [Float](repeating: 0, count: height * width), xCum = yCum
        for x in 0..<width {
            var c: Float = 0
            for y in 0..<height { if valid(y, x) { c += 1 }; yCum[y * width + x] = c }
        }
        for y in 0..<height {
            var c: Float = 0
            for x in 0..<width { if valid(y, x) { c += 1 }; xCum[y * width + x] = c }
        }
        let scale = Float(2 * Double.pi), eps: Float = 1e-6
        var yEmbed = yCum, xEmbed = xCum
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                yEmbed[i] = (yCum[i] - 0.5) / (yCum[(height - 1) * width + x] + eps) * scale
                xEmbed[i] = (xCum[i] - 0.5) / (xCum[y * width + width - 1] + eps) * scale
            }
        }
        let dimT = sineFrequencies(numPosFeats, temperature: temperature)
        let plane = height * width
        return Tensor(shape: [1, 2 * numPosFeats, height, width]) { out in
            for k in 0..<numPosFeats {
                let yDst = out.baseAddress! + k * plane, xDst = out.baseAddress! + (numPosFeats + k) * plane
                let dk = dimT[k]
                for i in 0..<plane {
                    let vy = yEmbed[i] / dk, vx = xEmbed[i] / dk
                    if k % 2 == 0 { yDst[i] = sinf(vy); xDst[i] = sinf(vx) } else { yDst[i] = cosf(vy); xDst[i] = cosf(vx) }
                }
            }
        }
    }

    /// Official `PositionEmbeddingSine1D(numPosFeats, normalize=True, scale=2π)` for a sequence of
    /// `length` → (1, F, L): `x = cumsum(not mask) / (last + 1e-6) · 2π` (no −0.5), interleaved sin/cos.
    /// `mask` (`true` = padding) defaults to no padding.
    public static func sinePositionEncoding1D(length: Int, numPosFeats: Int, temperature: Float = 10000, mask: [Bool]? = nil) -> Tensor {
        precondition(length > 0 && numPosFeats > 0 && numPosFeats % 2 == 0, "sinePositionEncoding1D: invalid length \(length) or \(numPosFeats) features")
        if let mask { precondition(mask.count == length, "sinePositionEncoding1D: mask has \(mask.count) entries for length \(length)") }
        var cum = [Float](repeating: 0, count: length)
        var c: Float = 0
        for i in 0..<length { if !(mask?[i] ?? false) { c += 1 }; cum[i] = c }
        let scale = Float(2 * Double.pi), eps: Float = 1e-6
        let embed = cum.map { $0 / (cum[length - 1] + eps) * scale }
        let dimT = sineFrequencies(numPosFeats, temperature: temperature)
        return Tensor(shape: [1, numPosFeats, length]) { out in
            for k in 0..<numPosFeats {
                for i in 0..<length {
                    let v = embed[i] / dimT[k]
                    out[k * length + i] = k % 2 == 0 ? sinf(v) : cosf(v)
                }
            }
        }
    }
}
