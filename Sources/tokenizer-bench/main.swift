// tokenizer-bench: release-mode speed of RobertaTokenizer.encode on a 20-word phrase.
// Usage: swift run -c release tokenizer-bench [vocab.json merges.txt]
// (defaults: the test fixtures, relative to the package root).
import Foundation
import Tokenizer

let arguments = CommandLine.arguments
let vocabularyPath = arguments.count > 2 ? arguments[1] : "Tests/Fixtures/tokenizer/vocab.json"
let mergesPath = arguments.count > 2 ? arguments[2] : "Tests/Fixtures/tokenizer/merges.txt"
let phrase = "the tall man in the dark blue jacket who is standing on the left next to a small brown dog"
let clock = ContinuousClock()

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) * 1e-12
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

do {
    let vocabularyURL = URL(fileURLWithPath: vocabularyPath)
    let mergesURL = URL(fileURLWithPath: mergesPath)
    var loads: [Double] = []
    var cold: [Double] = []
    var tokenCount = 0
    // Cold: the first encode of a freshly loaded tokenizer (empty word cache).
    for _ in 0..<200 {
        var tokenizer: RobertaTokenizer?
        loads.append(microseconds(try clock.measure {
            tokenizer = try RobertaTokenizer(vocabularyURL: vocabularyURL, mergesURL: mergesURL)
        }))
        guard let tokenizer else { break }
        cold.append(microseconds(try clock.measure { tokenCount = try tokenizer.encode(phrase).count }))
    }
    // Warm: repeated encodes (every word cached).
    let tokenizer = try RobertaTokenizer(vocabularyURL: vocabularyURL, mergesURL: mergesURL)
    var warm: [Double] = []
    for _ in 0..<200 {
        let batch = 100
        let elapsed = try clock.measure {
            for _ in 0..<batch { _ = try tokenizer.encode(phrase) }
        }
        warm.append(microseconds(elapsed) / Double(batch))
    }
    let words = phrase.split(separator: " ").count
    print("phrase: \(words) words, \(tokenCount) tokens with <s> </s>")
    print(String(format: "load vocab+merges: median %.1f µs", median(loads)))
    print(String(format: "encode, cold cache: median %.2f µs (min %.2f, max %.2f, n=%d)",
                 median(cold), cold.min() ?? 0, cold.max() ?? 0, cold.count))
    print(String(format: "encode, warm cache: median %.2f µs per call (n=%d × 100)", median(warm), warm.count))
} catch {
    print("tokenizer-bench: \(error)")
    exit(1)
}
