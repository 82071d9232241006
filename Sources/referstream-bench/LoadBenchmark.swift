import ArgumentParser
import Checkpoint
import Foundation
import ReferFormer
import Tensor

/// `referstream-bench load`: time to open a checkpoint and build a `StateDict` of float32 tensors, for
/// a PyTorch `.pth` and a safetensors file, with peak resident memory; then the architecture inferred
/// from the weights. Make a full-size file with tools/make_random_checkpoint.py (outside the repository)
/// and convert it with `referstream convert`.
struct LoadBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Checkpoint load time (.pth and safetensors → StateDict) and peak RSS.",
        discussion: """
            For each file: the time to map and parse it and to build the StateDict (float32 tensors that \
            borrow the mapping where possible, decoded copies otherwise), the number of zero-copy tensors, \
            the time to then read every element once (page-in), and the peak RSS (VmHWM, reset between \
            files through /proc/self/clear_refs). Page-cache state is not controlled: run the command \
            twice to see warm-cache figures. Targets for the ≈ 700 MB R50 checkpoint: .pth ≤ 5 s, \
            safetensors ≤ 1 s.
            """)

    @Option(help: ArgumentHelp("A PyTorch checkpoint (legacy or zip format).", valueName: "file.pth"))
    var pth: String?

    @Option(help: ArgumentHelp("A safetensors file.", valueName: "file.safetensors"))
    var safetensors: String?

    @Option(help: "Load each file this many times (the best time is reported).")
    var repeats = 1

    @Flag(name: .customLong("build-model"), help: ArgumentHelp(
        "Also build the detector and the text encoder from the weights (strict: every key used, shapes checked) and time it."))
    var buildModel = false

    func validate() throws {
        guard pth != nil || safetensors != nil else { throw ValidationError("give --pth and/or --safetensors") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        var inferred: [String] = []
        for (label, path) in [(".pth", pth), ("safetensors", safetensors)] {
            guard let path else { continue }
            let url = URL(fileURLWithPath: path)
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            var best = Double.infinity
            var dict: StateDict?
            resetPeakRSS()
            let before = memory()
            for _ in 0..<repeats {
                dict = nil
                let start = ContinuousClock.now
                let loaded = try label == ".pth" ? StateDict(pyTorchAt: url) : StateDict(safetensorsAt: url)
                best = min(best, seconds(ContinuousClock.now - start))
                dict = loaded
            }
            guard let dict else { continue }
            let afterLoad = memory()
            if buildModel {
                // A separate load so that the element pass below still sees every key.
                let weights = try label == ".pth" ? StateDict(pyTorchAt: url) : StateDict(safetensorsAt: url)
                let start = ContinuousClock.now
                let c = try ReferFormerConfiguration.inferred(fromShapes: weights.shapes)
                let strict: String
                var model: ReferFormerModel?
                do { model = try ReferFormerModel(configuration: c, weights: weights); strict = "strict load OK" } catch { strict = "strict load FAILED: \(error)" }
                let built = seconds(ContinuousClock.now - start)
                withExtendedLifetime(model) {
                    print(String(format: "%@: full model built in %.3f s (BN folded); %@", label, built, strict))
                }
            }
            var zeroCopy = 0, elements = 0, tensors = 0
            let touchStart = ContinuousClock.now
            var checksum: Float = 0
            for key in dict.keys {
                let tensor = dict.take(key, shape: dict.shape(of: key) ?? [])
                tensors += 1
                elements += tensor.shape.reduce(1, *)
                if tensor.storage.isReadOnly { zeroCopy += 1 }
                checksum += Self.sum(tensor)
            }
            let touch = seconds(ContinuousClock.now - touchStart)
            let afterTouch = memory()
            print("\(label): \(path) (\(size) bytes)")
            print(String(format: "  open + StateDict: %.3f s (best of %d), %d tensors, %d elements, %d zero-copy",
                         best, repeats, tensors, elements, zeroCopy))
            print(String(format: "  read every element once: %.3f s (checksum %.3g)", touch, checksum))
            print("  RSS: \(before.rss / 1_048_576) MiB before, \(afterLoad.rss / 1_048_576) MiB after load, "
                + "\(afterTouch.rss / 1_048_576) MiB after reading; peak (VmHWM) \(afterTouch.peak / 1_048_576) MiB")
            do {
                let c = try ReferFormerConfiguration.inferred(fromShapes: dict.shapes)
                inferred.append("\(label): backbone layers \(c.backbone.layers) width \(c.backbone.widthPerGroup), hidden_dim \(c.hiddenDim), "
                    + "nheads \(c.nheads), enc/dec layers \(c.encLayers)+\(c.decLayers), dim_feedforward \(c.dimFeedforward), "
                    + "queries \(c.numQueries), mask_dim \(c.maskDim), dynamic_mask_channels \(c.dynamicMaskChannels), "
                    + "text: vocab \(c.textEncoder.vocabSize) hidden \(c.textEncoder.hiddenSize) layers \(c.textEncoder.numHiddenLayers) "
                    + "ffn \(c.textEncoder.intermediateSize); official R50: \(c == ReferFormerConfiguration())")
            } catch {
                inferred.append("\(label): inference failed: \(error)")
            }
        }
        print("architecture inferred from the weights:")
        for line in inferred { print("  " + line) }
    }

    /// Sum of every element (reads the whole tensor: page-in for mapped weights).
    static func sum(_ tensor: Tensor) -> Float {
        let count = tensor.shape.reduce(1, *)
        guard count > 0, tensor.strides == Tensor.contiguousStrides(for: tensor.shape) else { return 0 }
        return tensor.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var i = 0
            while i + 4 <= count {
                s0 += base[i]; s1 += base[i + 1]; s2 += base[i + 2]; s3 += base[i + 3]
                i += 4
            }
            while i < count { s0 += base[i]; i += 1 }
            return s0 + s1 + s2 + s3
        }
    }

    func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// VmRSS and VmHWM of this process, in bytes (/proc/self/status).
    func memory() -> (rss: Int, peak: Int) {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// Resets VmHWM to the current RSS (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0).
    func resetPeakRSS() {
        try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))
    }
}
