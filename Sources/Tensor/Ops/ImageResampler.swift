// Separable fixed-point resampling of 8-bit RGB images (the execution half of Pillow's
// ImagingResample: ImagingResampleHorizontal_8bpc / Vertical_8bpc / ImagingResampleInner). Which
// weights to use (Pillow's filters and coefficient rounding) is the caller's: see ReferFormer's
// `PillowResize`.

/// Runs a horizontal and/or vertical pass of integer-weighted taps over an HWC RGB byte image.
///
/// Each output sample is `clamp((2^(bits−1) + Σ byte · weight) >> bits, 0, 255)` summed in 32-bit
/// integers (exact, so the order of the sums, and vectorisation, cannot change a result). The
/// horizontal pass runs first, into an 8-bit intermediate holding only the source rows the vertical
/// pass reads; a nil pass is skipped; with both nil the image is copied. Passes run in parallel over
/// output rows, with no per-pixel allocation.
public struct ImageResampler: Sendable {
    /// The weights of one pass: for output index o, source indices `start[o] ..< start[o] + count[o]`
    /// with weights `weights[o · taps ..< o · taps + count[o]]`, `bits` fraction bits.
    public struct Pass: Sendable {
        public let taps: Int
        public let start: [Int]
        public let count: [Int]
        public let weights: [Int32]

        public init(taps: Int, start: [Int], count: [Int], weights: [Int32]) {
            precondition(start.count == count.count && weights.count == start.count * taps && count.allSatisfy { $0 <= taps },
                         "ImageResampler.Pass: \(start.count) starts, \(count.count) counts, \(weights.count) weights for \(taps) taps")
            self.taps = taps
            self.start = start
            self.count = count
            self.weights = weights
        }
    }

    public let sourceWidth: Int, sourceHeight: Int, targetWidth: Int, targetHeight: Int
    public let horizontal: Pass?
    public let vertical: Pass?
    /// Fraction bits of the weights.
    public let bits: Int
    /// Source rows `firstRow..<endRow` are the only ones the vertical pass reads (all rows without one).
    let firstRow: Int
    let endRow: Int

    public init(sourceWidth: Int, sourceHeight: Int, targetWidth: Int, targetHeight: Int, horizontal: Pass?, vertical: Pass?, bits: Int) {
        precondition(horizontal.map { $0.start.count == targetWidth } ?? (sourceWidth == targetWidth), "horizontal pass does not give \(targetWidth) columns")
        precondition(vertical.map { $0.start.count == targetHeight } ?? (sourceHeight == targetHeight), "vertical pass does not give \(targetHeight) rows")
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.targetWidth = targetWidth
        self.targetHeight = targetHeight
        self.horizontal = horizontal
        self.vertical = vertical
        self.bits = bits
        if let vertical, targetHeight > 0 {
            firstRow = vertical.start[0]
            endRow = vertical.start[targetHeight - 1] + vertical.count[targetHeight - 1]
        } else {
            firstRow = 0
            endRow = sourceHeight
        }
    }

    /// Resamples `source` (`sourceHeight × sourceWidth × 3` bytes) into `output`
    /// (`targetHeight × targetWidth × 3` bytes).
    /// - Precondition: both buffers have those sizes (callers validate input first).
    public func resample(_ source: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) {
        precondition(source.count == sourceHeight * sourceWidth * 3 && output.count == targetHeight * targetWidth * 3,
                     "ImageResampler: \(source.count) → \(output.count) bytes for \(sourceWidth)×\(sourceHeight) → \(targetWidth)×\(targetHeight)")
        guard let src = source.baseAddress, let dst = output.baseAddress else { return }
        switch (horizontal, vertical) {
        case (nil, nil):
            dst.update(from: src, count: output.count)
        case let (h?, nil):
            horizontalPass(h, from: src, width: sourceWidth, rows: 0..<sourceHeight, into: dst, width: targetWidth)
        case let (nil, v?):
            verticalPass(v, from: src, rowOffset: 0, rowBytes: sourceWidth * 3, into: dst, rows: targetHeight)
        case let (h?, v?):
            let rows = endRow - firstRow
            let temp = UnsafeMutablePointer<UInt8>.allocate(capacity: rows * targetWidth * 3)
            defer { temp.deallocate() }
            horizontalPass(h, from: src, width: sourceWidth, rows: firstRow..<endRow, into: temp, width: targetWidth)
            verticalPass(v, from: temp, rowOffset: firstRow, rowBytes: targetWidth * 3, into: dst, rows: targetHeight)
        }
    }

    /// Drop the fraction bits (arithmetic shift) and saturate to 0...255 (Pillow's `clip8`).
    @inline(__always)
    static func clip8(_ sum: Int32, bits: Int32) -> UInt8 {
        let v = sum >> bits
        return v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(truncatingIfNeeded: v))
    }

    /// Horizontal pass over source rows `rows`; output row `r − rows.lowerBound` gets source row `r`.
    private func horizontalPass(_ pass: Pass, from src: UnsafePointer<UInt8>, width inWidth: Int, rows: Range<Int>,
                                into dst: UnsafeMutablePointer<UInt8>, width outWidth: Int) {
        let taps = pass.taps, shift = Int32(bits)
        let half = Int32(1) << Int32(bits - 1)
        let (source, target) = (UncheckedSendable(src), UncheckedSendable(dst))
        pass.withTables { tables in
            Parallel.forEach(rows.count, minChunk: 16) { chunk in
                let (weights, starts, counts) = tables.value
                for r in chunk {
                    let inRow = source.value + (rows.lowerBound + r) * inWidth * 3
                    let outRow = target.value + r * outWidth * 3
                    for x in 0..<outWidth {
                        let k = weights + x * taps
                        var p = inRow + starts[x] * 3
                        var s0 = half, s1 = half, s2 = half
                        for t in 0..<counts[x] {
                            let w = k[t]
                            s0 &+= Int32(p[0]) &* w
                            s1 &+= Int32(p[1]) &* w
                            s2 &+= Int32(p[2]) &* w
                            p += 3
                        }
                        outRow[x * 3] = Self.clip8(s0, bits: shift)
                        outRow[x * 3 + 1] = Self.clip8(s1, bits: shift)
                        outRow[x * 3 + 2] = Self.clip8(s2, bits: shift)
                    }
                }
            }
        }
    }

    /// Vertical pass: output row `y` sums input rows `start[y] − rowOffset …` (rows are `rowBytes` long).
    private func verticalPass(_ pass: Pass, from src: UnsafePointer<UInt8>, rowOffset: Int, rowBytes: Int,
                              into dst: UnsafeMutablePointer<UInt8>, rows outHeight: Int) {
        let taps = pass.taps, shift = Int32(bits)
        let half = Int32(1) << Int32(bits - 1)
        let (source, target) = (UncheckedSendable(src), UncheckedSendable(dst))
        pass.withTables { tables in
            Parallel.forEach(outHeight, minChunk: 8) { chunk in
                let (weights, starts, counts) = tables.value
                // One accumulator row per chunk; every weight applies to a whole row, so the
                // inner loops are plain multiply-adds over contiguous bytes (vectorisable).
                let acc = UnsafeMutablePointer<Int32>.allocate(capacity: rowBytes)
                defer { acc.deallocate() }
                for y in chunk {
                    acc.initialize(repeating: half, count: rowBytes)
                    let k = weights + y * taps
                    let first = starts[y] - rowOffset
                    for t in 0..<counts[y] {
                        let w = k[t]
                        let inRow = source.value + (first + t) * rowBytes
                        for i in 0..<rowBytes { acc[i] &+= Int32(inRow[i]) &* w }
                    }
                    let outRow = target.value + y * rowBytes
                    for i in 0..<rowBytes { outRow[i] = Self.clip8(acc[i], bits: shift) }
                }
            }
        }
    }
}

extension Tensor {
    /// (T, 3, H, W) float32 from T frames of HWC RGB bytes through a per-channel lookup table
    /// (3 × 256): `out[t, c, y, x] = table[c·256 + frame_t[(y·W + x)·3 + c]]` (torchvision `ToTensor`
    /// + `Normalize` when the table holds `(v/255 − mean[c]) / std[c]`), in parallel over pixels.
    /// - Precondition: every frame has `height × width × 3` bytes; the table has 768 entries.
    public init(rgbFrames frames: [[UInt8]], height: Int, width: Int, channelTable table: [Float]) {
        let pixels = height * width
        precondition(table.count == 3 * 256 && frames.allSatisfy { $0.count == pixels * 3 },
                     "rgbFrames: frames of \(frames.map(\.count)) bytes for \(width)×\(height) RGB, table of \(table.count)")
        self.init(shape: [frames.count, 3, height, width]) { out in
            guard pixels > 0, let base = out.baseAddress else { return }
            table.withUnsafeBufferPointer { tableBuffer in
                let lookup = UncheckedSendable(tableBuffer.baseAddress!)
                for (t, frame) in frames.enumerated() {
                    frame.withUnsafeBufferPointer { byteBuffer in
                        let src = UncheckedSendable(byteBuffer.baseAddress!), dst = UncheckedSendable(base + t * 3 * pixels)
                        Parallel.forEach(pixels, minChunk: 16_384) { range in
                            let (table, bytes) = (lookup.value, src.value)
                            let r = dst.value, g = dst.value + pixels, b = dst.value + 2 * pixels
                            for p in range {
                                r[p] = table[Int(bytes[3 * p])]
                                g[p] = table[256 + Int(bytes[3 * p + 1])]
                                b[p] = table[512 + Int(bytes[3 * p + 2])]
                            }
                        }
                    }
                }
            }
        }
    }
}

extension ImageResampler.Pass {
    /// Runs `body` with the weight, start and count tables as pointers (valid during the call only),
    /// wrapped for the parallel loops of both resampling passes.
    func withTables(_ body: (UncheckedSendable<(UnsafePointer<Int32>, UnsafePointer<Int>, UnsafePointer<Int>)>) -> Void) {
        weights.withUnsafeBufferPointer { weightBuffer in
            start.withUnsafeBufferPointer { startBuffer in
                count.withUnsafeBufferPointer { countBuffer in
                    body(UncheckedSendable((weightBuffer.baseAddress!, startBuffer.baseAddress!, countBuffer.baseAddress!)))
                }
            }
        }
    }
}
