// torch.nn.Embedding, holding exactly the official state-dict entries of its module.
import Tensor

/// torch.nn.Embedding: `<prefix>.weight` (count, dimension).
struct Embedding: Sendable {
    var weight: Tensor

    init(weights: StateDict, prefix: String, count: Int, dimension: Int) {
        weight = weights.take("\(prefix).weight", shape: [count, dimension])
    }

    /// Rows `ids` of the table: (ids.count, dimension).
    func callAsFunction(_ ids: [Int]) -> Tensor { weight.gatheringRows(ids) }
}
