// Views: new shapes and strides over the same storage. None of these copy, except `reshaped` of a
// non-contiguous tensor, which PyTorch's `reshape` also materialises.

extension Tensor {
    /// The same elements with another shape (one dimension may be -1). A view when contiguous.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var newShape = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        if let inferred = newShape.firstIndex(of: -1) {
            precondition(newShape.filter { $0 == -1 }.count == 1 && known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            newShape[inferred] = count / known
        }
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let source = contiguous()
        return Tensor(storage: source.storage, shape: newShape, strides: Tensor.contiguousStrides(for: newShape), offset: source.offset)
    }

    /// Dimensions reordered: result dimension i is source dimension `order[i]` (torch `permute`).
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order.map(axis)).count == rank, "permutation \(order) invalid for shape \(shape)")
        let order = order.map(axis)
        return Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
    }

    /// Two dimensions swapped (torch `transpose`).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(axis(a), axis(b))
        return permuted(order)
    }

    /// Elements `range` along `dim` (torch `narrow` / basic slicing), with an optional step.
    public func sliced(_ dim: Int, _ range: Range<Int>, step: Int = 1) -> Tensor {
        let d = axis(dim)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[d] && step >= 1, "slice \(range) step \(step) out of bounds for dimension \(d) of \(shape)")
        var newShape = shape, newStrides = strides
        newShape[d] = (range.count + step - 1) / step
        newStrides[d] = strides[d] * step
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset + range.lowerBound * strides[d])
    }

    /// Index `index` along `dim`, removing that dimension (torch `select`).
    public func selecting(_ dim: Int, _ index: Int) -> Tensor {
        let d = axis(dim)
        precondition(index >= 0 && index < shape[d], "index \(index) out of bounds for dimension \(d) of \(shape)")
        var newShape = shape, newStrides = strides
        newShape.remove(at: d)
        newStrides.remove(at: d)
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset + index * strides[d])
    }

    /// Broadcast to `newShape` with stride 0 on expanded dimensions (torch `expand`; -1 keeps a size).
    public func expanded(to newShape: [Int]) -> Tensor {
        precondition(newShape.count >= rank, "cannot expand \(shape) to fewer dimensions \(newShape)")
        let lead = newShape.count - rank
        var outShape = newShape, outStrides = [Int](repeating: 0, count: newShape.count)
        for i in 0..<newShape.count {
            if i < lead {
                precondition(newShape[i] >= 0, "cannot expand \(shape) to \(newShape)")
                continue
            }
            let s = shape[i - lead]
            if newShape[i] == -1 || newShape[i] == s {
                outShape[i] = s
                outStrides[i] = strides[i - lead]
            } else {
                precondition(s == 1, "cannot expand dimension of size \(s) to \(newShape[i]) (\(shape) → \(newShape))")
            }
        }
        return Tensor(storage: storage, shape: outShape, strides: outStrides, offset: offset)
    }

    /// A size-1 dimension inserted at `dim` (torch `unsqueeze`).
    public func unsqueezed(_ dim: Int) -> Tensor {
        let d = dim < 0 ? dim + rank + 1 : dim
        precondition(d >= 0 && d <= rank, "unsqueeze dimension \(dim) out of range for \(shape)")
        var newShape = shape, newStrides = strides
        newShape.insert(1, at: d)
        newStrides.insert(d < rank ? strides[d] * shape[d] : 1, at: d)
        return Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
    }

    /// Size-1 dimension `dim` removed (torch `squeeze(dim)`).
    public func squeezed(_ dim: Int) -> Tensor {
        let d = axis(dim)
        precondition(shape[d] == 1, "cannot squeeze dimension \(d) of size \(shape[d]) in \(shape)")
        return selecting(d, 0)
    }

    /// Dimensions `start...end` merged into one (torch `flatten(start, end)`).
    public func flattened(_ start: Int = 0, _ end: Int = -1) -> Tensor {
        let s = axis(start), e = axis(end)
        precondition(s <= e, "flatten \(start)...\(end) invalid for \(shape)")
        var newShape = Array(shape[..<s])
        newShape.append(shape[s...e].reduce(1, *))
        newShape += shape[(e + 1)...]
        return reshaped(newShape)
    }
}
