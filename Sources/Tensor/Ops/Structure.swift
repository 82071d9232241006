// Joining and splitting tensors: concat, stack, split, chunked.

extension Tensor {
    /// torch `cat(tensors, dim)`: all shapes equal except along `axis`.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat of no tensors")
        let first = tensors[0]
        let d = first.axis(axis)
        for t in tensors {
            precondition(t.rank == first.rank && (0..<first.rank).allSatisfy { $0 == d || t.shape[$0] == first.shape[$0] },
                         "concat along \(axis): shape \(t.shape) does not match \(first.shape)")
        }
        var outShape = first.shape
        outShape[d] = tensors.reduce(0) { $0 + $1.shape[d] }
        let outer = first.shape[..<d].reduce(1, *)
        let inner = first.shape[(d + 1)...].reduce(1, *)
        let rowOut = outShape[d] * inner
        return Tensor(shape: outShape) { dst in
            guard let base = dst.baseAddress else { return }
            var column = 0
            for t in tensors {
                let block = t.shape[d] * inner
                t.withUnsafeBufferPointer { src in
                    guard let s = src.baseAddress, block > 0 else { return }
                    for o in 0..<outer { (base + o * rowOut + column).update(from: s + o * block, count: block) }
                }
                column += block
            }
        }
    }

    /// torch `stack(tensors, dim)`: equal shapes joined along a new dimension `axis`.
    public static func stack(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "stack of no tensors")
        for t in tensors { precondition(t.shape == tensors[0].shape, "stack: shape \(t.shape) differs from \(tensors[0].shape)") }
        return concat(tensors.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// torch `split(sizes, dim)`: views of consecutive pieces with the given sizes along `axis`.
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let d = self.axis(axis)
        precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[d], "split sizes \(sizes) do not add up to dimension \(d) of \(shape)")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(d, start..<(start + size))
        }
    }

    /// torch `chunk(n, dim)`: pieces of ⌈size/n⌉ along `axis` (the last may be smaller; fewer than n
    /// pieces when the size does not allow n), as views.
    public func chunked(_ n: Int, axis: Int) -> [Tensor] {
        precondition(n > 0, "chunked: n must be positive, got \(n)")
        let d = self.axis(axis), size = shape[d]
        let step = Swift.max(1, (size + n - 1) / n)
        return stride(from: 0, to: Swift.max(size, 1), by: step).map { sliced(d, $0..<Swift.min($0 + step, size)) }
    }
}

extension Tensor {
    /// Rows `indices` of a (V, E) table, (indices.count, E) (torch `F.embedding` / `index_select(0, …)`).
    public func gatheringRows(_ indices: [Int]) -> Tensor {
        precondition(rank == 2, "gatheringRows expects a (V, E) table, got \(shape)")
        let v = shape[0], e = shape[1]
        precondition(indices.allSatisfy { $0 >= 0 && $0 < v }, "gatheringRows: an index is outside 0..<\(v)")
        return withUnsafeBufferPointer { table in
            Tensor(shape: [indices.count, e]) { out in
                guard e > 0 else { return }
                for (i, row) in indices.enumerated() {
                    (out.baseAddress! + i * e).initialize(from: table.baseAddress! + row * e, count: e)
                }
            }
        }
    }
}
