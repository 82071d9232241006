// Matrix products: batched `matmul` and `linear`, all through `BLAS.sgemm`.

/// How a strided matrix can be handed to sgemm without a copy: as stored or transposed, with its
/// leading dimension. `nil` when neither works (a stride-0 or otherwise gapped layout).
func gemmLayout(rows: Int, cols: Int, rowStride: Int, colStride: Int) -> (BLAS.Transpose, Int)? {
    if (colStride == 1 || cols <= 1) && (rows <= 1 || rowStride >= Swift.max(cols, 1)) {
        return (.none, rows <= 1 ? Swift.max(cols, 1) : rowStride)
    }
    if (rowStride == 1 || rows <= 1) && (cols <= 1 || colStride >= Swift.max(rows, 1)) {
        return (.transposed, cols <= 1 ? Swift.max(rows, 1) : colStride)
    }
    return nil
}

/// Batched matrix product with PyTorch `matmul` semantics: (…, m, k) × (…, k, n) → (…, m, n), batch
/// dimensions broadcast; a 1-D operand is a vector (its dimension is removed from the result).
///
/// Strided operands (a transposed weight, a head slice) go to sgemm with its transpose flags and
/// leading dimensions instead of being copied, when their layout allows it.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { batchedMatmul(a, b) }

func batchedMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.rank >= 1 && b.rank >= 1, "matmul needs operands of rank ≥ 1, got \(a.shape) and \(b.shape)")
    var a2 = a.rank == 1 ? a.unsqueezed(0) : a
    var b2 = b.rank == 1 ? b.unsqueezed(1) : b
    let m = a2.shape[a2.rank - 2], k = a2.shape[a2.rank - 1]
    let n = b2.shape[b2.rank - 1]
    precondition(b2.shape[b2.rank - 2] == k, "matmul shapes \(a.shape) and \(b.shape) do not agree on the inner dimension")
    let batch = Tensor.broadcastShape(Array(a2.shape.dropLast(2)), Array(b2.shape.dropLast(2)))
    let batchCount = batch.reduce(1, *)
    var outShape = batch + [m, n]

    // One GEMM when b has no batch and a's batch and row dimensions merge: (B·m, k) × (k, n).
    if b2.shape.dropLast(2).reduce(1, *) == 1 && a2.rank > 2 {
        if !a2.isContiguous { a2 = a2.contiguous() }
        // Drop b's size-1 batch dimensions as views, keeping its strides (a transposed weight stays
        // a transpose flag instead of a copy).
        while b2.rank > 2 { b2 = b2.squeezed(0) }
        let flat = batchedMatmul(a2.reshaped([-1, k]), b2)
        var result = flat.reshaped(outShape)
        if a.rank == 1 { outShape.remove(at: outShape.count - 2); result = result.reshaped(outShape) }
        if b.rank == 1 { outShape.removeLast(); result = result.reshaped(outShape) }
        return result
    }

    if gemmLayout(rows: m, cols: k, rowStride: a2.strides[a2.rank - 2], colStride: a2.strides[a2.rank - 1]) == nil { a2 = a2.contiguous() }
    if gemmLayout(rows: k, cols: n, rowStride: b2.strides[b2.rank - 2], colStride: b2.strides[b2.rank - 1]) == nil { b2 = b2.contiguous() }
    let (ta, lda) = gemmLayout(rows: m, cols: k, rowStride: a2.strides[a2.rank - 2], colStride: a2.strides[a2.rank - 1])!
    let (tb, ldb) = gemmLayout(rows: k, cols: n, rowStride: b2.strides[b2.rank - 2], colStride: b2.strides[b2.rank - 1])!
    let ea = a2.expanded(to: batch + [m, k]), eb = b2.expanded(to: batch + [k, n])
    let aBatchStrides = Array(ea.strides.dropLast(2)), bBatchStrides = Array(eb.strides.dropLast(2))

    var result = Tensor(shape: outShape) { c in
        guard let cBase = c.baseAddress else { return }
        if k == 0 { c.initialize(repeating: 0); return }
        withExtendedLifetime((ea, eb)) {
            var index = [Int](repeating: 0, count: batch.count)
            var offA = ea.offset, offB = eb.offset
            for bi in 0..<batchCount {
                BLAS.sgemm(
                    transA: ta, transB: tb, m: m, n: n, k: k,
                    a: ea.storage.base + offA, lda: lda, b: eb.storage.base + offB, ldb: ldb,
                    c: cBase + bi * m * n, ldc: Swift.max(n, 1))
                var d = batch.count - 1
                while d >= 0 {
                    index[d] += 1
                    offA += aBatchStrides[d]
                    offB += bBatchStrides[d]
                    if index[d] < batch[d] { break }
                    offA -= aBatchStrides[d] * batch[d]
                    offB -= bBatchStrides[d] * batch[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }
    if a.rank == 1 { outShape.remove(at: outShape.count - 2); result = result.reshaped(outShape) }
    if b.rank == 1 { outShape.removeLast(); result = result.reshaped(outShape) }
    return result
}

extension Tensor {
    /// `matmul(self, other)`.
    public func matmul(_ other: Tensor) -> Tensor { batchedMatmul(self, other) }

    /// torch `F.linear`: x (…, in) · weightᵀ + bias → (…, out), with weight (out, in) and bias (out).
    /// With `residual` (…, out) the result is `residual + linear(x)` (a skip connection fused into the
    /// product). One GEMM over all leading dimensions; residual and bias are written first and the
    /// product accumulated into them (β = 1).
    public func linear(weight: Tensor, bias: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
        precondition(weight.rank == 2 && rank >= 1 && weight.shape[1] == shape[rank - 1],
                     "linear: input \(shape) does not match weight \(weight.shape)")
        let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
        if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) does not match weight \(weight.shape)") }
        let x = reshaped([-1, inFeatures])
        let rows = x.shape[0]
        var w = weight
        if gemmLayout(rows: inFeatures, cols: outFeatures, rowStride: w.strides[1], colStride: w.strides[0]) == nil { w = w.contiguous() }
        let (tb, ldb) = gemmLayout(rows: inFeatures, cols: outFeatures, rowStride: w.strides[1], colStride: w.strides[0])!
        let (ta, lda) = gemmLayout(rows: rows, cols: inFeatures, rowStride: x.strides[0], colStride: x.strides[1])!
        var outShape = shape
        outShape[rank - 1] = outFeatures
        if let residual { precondition(residual.shape == outShape, "linear: residual \(residual.shape) is not \(outShape)") }
        return Tensor(shape: outShape) { c in
            guard let cBase = c.baseAddress, rows > 0, outFeatures > 0 else { return }
            var beta: Float = 0
            if residual != nil || bias != nil {
                // C = residual + bias (either may be absent), rows in parallel; the GEMM accumulates.
                let pc = UncheckedSendable(cBase)
                let residualValues = residual?.contiguous(), biasValues = bias?.contiguous()
                withExtendedLifetime((residualValues, biasValues)) {
                    let pr = UncheckedSendable(residualValues.map { UnsafePointer($0.storage.base + $0.offset) })
                    let pb = UncheckedSendable(biasValues.map { UnsafePointer($0.storage.base + $0.offset) })
                    Parallel.forEach(rows, minChunk: Swift.max(1, 16384 / outFeatures)) { range in
                        for r in range {
                            let row = pc.value + r * outFeatures
                            switch (pr.value, pb.value) {
                            case let (res?, b?): for o in 0..<outFeatures { row[o] = res[r * outFeatures + o] + b[o] }
                            case let (res?, nil): row.update(from: res + r * outFeatures, count: outFeatures)
                            case let (nil, b?): row.update(from: b, count: outFeatures)
                            case (nil, nil): break
                            }
                        }
                    }
                }
                beta = 1
            } else if inFeatures == 0 {
                c.initialize(repeating: 0)
            }
            guard inFeatures > 0 else { return }
            withExtendedLifetime((x, w)) {
                BLAS.sgemm(
                    transA: ta, transB: tb, m: rows, n: outFeatures, k: inFeatures,
                    a: x.storage.base + x.offset, lda: lda, b: w.storage.base + w.offset, ldb: ldb,
                    beta: beta, c: cBase, ldc: outFeatures)
            }
        }
    }
}
