// The position-wise feed-forward block of a transformer layer (torch `linear2(relu(linear1(x)))`),
// computed in row blocks.

extension Tensor {
    /// Rows of x (…, C) through `linear2(relu(linear1(x)))`, plus x itself when `addingInput` (the
    /// layer's residual, fused): weights `hiddenWeight` (F, C), `outputWeight` (C', F) as torch stores
    /// them, optional biases (F), (C').
    ///
    /// Computed `blockRows` rows at a time: the (rows × F) hidden block (4 MiB for F = 2048) stays in
    /// cache between its GEMM, the bias + ReLU pass and the second GEMM, instead of a fresh
    /// tokens × F buffer (40 MB per layer at 360×640). Rows are independent, so blocking changes no
    /// value. 512 rows rather than 256: OpenBLAS repacks both weights for every block, and halving
    /// the blocks took 3–10 % off the FFN's CPU time in same-run A/Bs (`referstream-bench kernels`,
    /// 4820 rows); 1024 and 2048 gained no more, with 4× and 16× the hidden block. Numerics: hidden = x·W₁ᵀ then `+ b₁`, ReLU; out = (x + b₂) then `+= hidden·W₂ᵀ`.
    public func feedForward(hiddenWeight w1: Tensor, hiddenBias b1: Tensor?, outputWeight w2: Tensor, outputBias b2: Tensor?,
                            addingInput: Bool, blockRows: Int = 512) -> Tensor {
        let c = shape[rank - 1], f = w1.shape[0], cOut = w2.shape[0]
        precondition(w1.shape == [f, c] && w2.shape == [cOut, f] && (b1 == nil || b1!.shape == [f]) && (b2 == nil || b2!.shape == [cOut]),
                     "feedForward: input \(shape), weights \(w1.shape) \(w2.shape), biases \(b1?.shape ?? []) \(b2?.shape ?? [])")
        precondition(!addingInput || cOut == c, "feedForward: a residual needs output width \(cOut) = input width \(c)")
        let n = c == 0 ? 0 : count / c
        var outShape = shape
        outShape[rank - 1] = cOut
        let block = Swift.min(Swift.max(blockRows, 1), Swift.max(n, 1))
        let bias1 = b1?.contiguous() ?? Tensor.zeros([f]), bias2 = b2?.contiguous() ?? Tensor.zeros([cOut])
        let w1c = w1.contiguous(), w2c = w2.contiguous()
        return withUnsafeBufferPointer { xp in
            Tensor(shape: outShape) { out in
                guard n > 0, cOut > 0, let o0 = out.baseAddress else { return }
                w1c.withUnsafeBufferPointer { w1p in
                    w2c.withUnsafeBufferPointer { w2p in
                        ScratchPool.shared.withBuffer(count: block * f) { hb in
                            // Pointers, not arrays, in the bias + ReLU pass (no bounds checks, so it
                            // vectorises); the bias tensors stay alive to the end of this closure.
                            let pb1 = UncheckedSendable(UnsafePointer(bias1.storage.base + bias1.offset))
                            let pb2 = UncheckedSendable(UnsafePointer(bias2.storage.base + bias2.offset))
                            let hidden = UncheckedSendable(hb)
                            var start = 0
                            while start < n {
                                let rows = Swift.min(block, n - start)
                                let xb = UncheckedSendable(xp.baseAddress! + start * c)
                                let ob = UncheckedSendable(o0 + start * cOut)
                                if c > 0 {
                                    BLAS.sgemm(transB: .transposed, m: rows, n: f, k: c, a: xb.value, lda: c, b: w1p.baseAddress!, ldb: c,
                                               c: hb, ldc: f)
                                } else {
                                    hb.initialize(repeating: 0, count: rows * f)
                                }
                                Parallel.forEach(rows, minChunk: 32) { range in
                                    let (b1, b2) = (pb1.value, pb2.value)
                                    for r in range {
                                        let row = hidden.value + r * f
                                        for j in 0..<f { row[j] = Swift.max(row[j] + b1[j], 0) }
                                        let o = ob.value + r * cOut
                                        if addingInput {
                                            let x = xb.value + r * c
                                            for j in 0..<cOut { o[j] = x[j] + b2[j] }
                                        } else {
                                            o.update(from: b2, count: cOut)
                                        }
                                    }
                                }
                                if f > 0 {
                                    BLAS.sgemm(transB: .transposed, m: rows, n: cOut, k: f, a: hb, lda: f, b: w2p.baseAddress!, ldb: f,
                                               beta: 1, c: ob.value, ldc: cOut)
                                }
                                start += rows
                            }
                            withExtendedLifetime((bias1, bias2)) {}
                        }
                    }
                }
            }
        }
    }
}
