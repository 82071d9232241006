// Test-only 2-D sine position encoding (official PositionEmbeddingSine2D(normalize=True), no padding),
// computed in Float in the official order, used to build the pixel decoder's `pos` inputs where the
// golden case does not store them (pos.res2 of case_1). Checked against every stored `pos.*` below.
import Foundation
import Tensor

enum SinePosition {
    /// (1, 2F, h, w): channels [0, F) encode y, [F, 2F) x; element 2m = sin(v / d_2m), 2m+1 = cos(v / d_2m).
    static func encoding2D(height h: Int, width w: Int, numPosFeats f: Int, temperature: Float = 10000) -> Tensor {
        let scale = 2 * Float.pi
        let eps: Float = 1e-6
        let dims = (0..<f).map { k -> Float in powf(temperature, Float(2 * (k / 2)) / Float(f)) }
        let ys = (0..<h).map { (Float($0 + 1) - 0.5) / (Float(h) + eps) * scale }
        let xs = (0..<w).map { (Float($0 + 1) - 0.5) / (Float(w) + eps) * scale }
        return Tensor(shape: [1, 2 * f, h, w]) { out in
            for k in 0..<f {
                for i in 0..<h {
                    for j in 0..<w {
                        let vy = ys[i] / dims[k], vx = xs[j] / dims[k]
                        out[(k * h + i) * w + j] = k % 2 == 0 ? sinf(vy) : cosf(vy)
                        out[((f + k) * h + i) * w + j] = k % 2 == 0 ? sinf(vx) : cosf(vx)
                    }
                }
            }
        }
    }
}
