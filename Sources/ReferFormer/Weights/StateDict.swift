import Tensor

/// A checkpoint's tensors by official state-dict key, consumed strictly by the model's layers.
///
/// Each layer takes its parameters by exact key (`take`), stating the shape it expects. Problems are not
/// thrown one at a time: `take` records a missing key or a shape mismatch and returns a zero tensor of
/// the expected shape so that construction can continue, and `finish()` throws one error listing every
/// missing, mis-shaped and unused key. This follows mlx-swift's strict `update(parameters:verify:)`
/// and the official `load_state_dict` report.
public final class StateDict {
    private var tensors: [String: Tensor]
    /// Keys in checkpoint order, for stable reports.
    public let keys: [String]
    private var used: Set<String> = []
    private var missing: [String] = []
    private var mismatched: [String] = []
    /// Keys that may be present without being used (duplicated twins, stale buffers).
    private var ignorable: [(String) -> Bool] = []
    /// Makes the parameters of a model built without a checkpoint (benchmarks, random weights).
    private var generator: ((String, [Int]) -> Tensor)?

    /// - Parameter tensors: (key, tensor) pairs in checkpoint order; later duplicates replace earlier ones.
    public init(_ tensors: [(String, Tensor)]) {
        var dict: [String: Tensor] = [:]
        var keys: [String] = []
        for (k, t) in tensors {
            if dict.updateValue(t, forKey: k) == nil { keys.append(k) }
        }
        self.tensors = dict
        self.keys = keys
    }

    /// A state dict with no stored tensors whose `take` creates each parameter with `generator(key, shape)`
    /// and records it (for random-weight models: benchmarks, smoke runs at real sizes).
    public convenience init(generating generator: @escaping (_ key: String, _ shape: [Int]) -> Tensor) {
        self.init([])
        self.generator = generator
    }

    /// Whether the checkpoint has `key` (does not mark it used).
    public func contains(_ key: String) -> Bool { tensors[key] != nil }

    /// The shape stored under `key`, if any (does not mark it used); for architecture inference.
    public func shape(of key: String) -> [Int]? { tensors[key]?.shape }

    /// Every key with its shape (does not mark anything used); for architecture inference.
    public var shapes: [String: [Int]] { tensors.mapValues(\.shape) }

    /// Every key starting with `prefix` (checkpoint order).
    public func keys(withPrefix prefix: String) -> [String] { keys.filter { $0.hasPrefix(prefix) } }

    /// Takes the parameter `key`, which must have `shape`. On a problem, records it and returns zeros.
    public func take(_ key: String, shape: [Int]) -> Tensor {
        if let generator, tensors[key] == nil {
            let made = generator(key, shape)
            precondition(made.shape == shape, "generator made \(made.shape) for \(key) \(shape)")
            tensors[key] = made
            used.insert(key)
            return made
        }
        guard let tensor = tensors[key] else {
            missing.append("\(key) \(shape)")
            return Tensor.zeros(shape)
        }
        used.insert(key)
        guard tensor.shape == shape else {
            mismatched.append("\(key): checkpoint \(tensor.shape), model \(shape)")
            return Tensor.zeros(shape)
        }
        return tensor
    }

    /// Takes `key` if present (for parameters that are legitimately optional), checking its shape.
    public func takeIfPresent(_ key: String, shape: [Int]) -> Tensor? {
        contains(key) ? take(key, shape: shape) : nil
    }

    /// Declares keys that may stay unused without being an error (e.g. `num_batches_tracked`,
    /// `text_encoder.embeddings.position_ids`, the `transformer.decoder.bbox_embed.*` twins).
    public func allowUnused(where predicate: @escaping (String) -> Bool) {
        ignorable.append(predicate)
    }

    /// Keys present in the checkpoint that no layer took and that are not declared ignorable.
    public var unusedKeys: [String] {
        keys.filter { key in !used.contains(key) && !ignorable.contains(where: { $0(key) }) }
    }

    /// Throws one `.weights` error listing every missing, mis-shaped and unused key, if there is any.
    public func finish() throws(ReferFormerError) {
        let unused = unusedKeys
        guard missing.isEmpty && mismatched.isEmpty && unused.isEmpty else {
            var lines: [String] = []
            func section(_ title: String, _ items: [String]) {
                guard !items.isEmpty else { return }
                lines.append("\(title) (\(items.count)):")
                lines += items.prefix(50).map { "  \($0)" }
                if items.count > 50 { lines.append("  … and \(items.count - 50) more") }
            }
            section("missing keys", missing)
            section("shape mismatches", mismatched)
            section("unexpected keys", unused)
            throw ReferFormerError(.weights, "the weights do not fit the model configuration:\n" + lines.joined(separator: "\n"))
        }
    }

    /// Drops the tensors (after loading, the layers hold their own references).
    public func releaseTensors() { tensors.removeAll() }
}
