import Testing
@testable import Tensor

@Suite("Tensor views and copy-on-write")
struct TensorViewTests {
    static let base = Tensor(shape: [2, 3, 4], elements: (0..<24).map(Float.init))

    @Test("permute, transpose and contiguous follow torch")
    func permute() {
        let p = Self.base.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3] && p.strides == [1, 12, 4] && !p.isContiguous)
        // torch.arange(24).view(2,3,4).permute(2,0,1).flatten()[:8] = [0, 4, 8, 12, 16, 20, 1, 5]
        #expect(Array(p.scalars.prefix(8)) == [0, 4, 8, 12, 16, 20, 1, 5])
        #expect(Self.base.transposed(0, 2).contiguous().isContiguous)
        #expect(p[3, 1, 2] == Self.base[1, 2, 3])
    }

    @Test("slice, select, expand, unsqueeze, squeeze, flatten, reshape")
    func views() {
        let s = Self.base.sliced(2, 1..<4, step: 2)
        #expect(s.shape == [2, 3, 2] && s.scalars == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23])
        let row = Self.base.selecting(1, 2)
        #expect(row.shape == [2, 4] && row.scalars == [8, 9, 10, 11, 20, 21, 22, 23])
        let e = Tensor(shape: [3, 1], elements: [1, 2, 3]).expanded(to: [2, 3, 4])
        #expect(e.shape == [2, 3, 4] && e.strides == [0, 1, 0] && e[1, 2, 3] == 3 && e.scalars.count == 24)
        let u = Self.base.unsqueezed(1)
        #expect(u.shape == [2, 1, 3, 4] && u.squeezed(1).shape == [2, 3, 4])
        #expect(Self.base.flattened(1).shape == [2, 12] && Self.base.reshaped([-1, 6]).shape == [4, 6])
        #expect(p(Self.base.permuted([1, 0, 2]).reshaped([3, 8]).scalars.prefix(5)) == [0, 1, 2, 3, 12])
    }

    private func p(_ s: ArraySlice<Float>) -> [Float] { Array(s) }

    @Test("views share storage; writes copy on write")
    func copyOnWrite() {
        var a = Self.base
        let view = a.sliced(0, 0..<1)
        #expect(view.storage === a.storage)
        a[0, 0, 0] = 100
        #expect(view[0, 0, 0] == 0 && a[0, 0, 0] == 100)
        var b = Tensor(shape: [2], elements: [1, 2])
        let before = ObjectIdentifier(b.storage)  // no extra reference held
        b[1] = 5
        #expect(ObjectIdentifier(b.storage) == before, "a unique tensor writes in place")
        #expect(b.scalars == [1, 5])
    }
}

@Suite("Storage pool")
struct StoragePoolTests {
    @Test("size classes cover the request with at most a third of the block unused")
    func sizeClasses() {
        for bytes in [StoragePool.minimumBytes, 300_000, 1 << 20, (1 << 20) + 1, 3 << 19, 5_000_000, 123_456_789] {
            let cap = StoragePool.capacity(for: bytes)
            #expect(cap >= bytes && Double(cap) <= Double(bytes) * 1.5, "\(bytes) → \(cap)")
        }
        #expect(StoragePool.capacity(for: 1000) == 1000)
    }

    @Test("recycled large storage is reused and never shared")
    func reuse() {
        var a: Tensor? = Tensor(shape: [300_000], repeating: 1)
        let first = a!.storage.base
        a = nil
        let b = Tensor(shape: [299_000], repeating: 2)
        let c = Tensor(shape: [300_000], repeating: 3)
        #expect(b.storage.base != c.storage.base)
        #expect(b.scalars.allSatisfy { $0 == 2 } && c.scalars.allSatisfy { $0 == 3 })
        _ = first
    }
}
