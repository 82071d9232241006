// tokenizer-bench: release-mode speed of RobertaTokenizer.encode on a 20-word phrase.
//
// Usage: swift run -c release tokenizer-bench [vocab.json merges.txt [cases.json]]
// Defaults: the test fixtures, relative to the package root. With a cases.json (the golden format:
// {"cases": [{"name", "text", "input_ids"}, …]}) it first checks that every case encodes to its ids
// (no length limit) and reports the mismatches.
import Foundation
import Tokenizer

let arguments = CommandLine.arguments
let vocabularyPath = arguments.count > 2 ? arguments[1] : "Tests/Fixtures/tokenizer/vocab.json"
let mergesPath = arguments.count > 2 ? arguments[2] : "Tests/Fixtures/tokenizer/merges.txt"
let casesPath = arguments.count > 3 ? arguments[3] : nil
let phrase = "the tall man in the dark blue jacket who is standing on the left next to a small brown dog"
let clock = ContinuousClock()

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) * 1e-12
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

struct Case: Decodable {
    var name: String
    var text: String
    var input_ids: [Int32]
}

struct CasesFile: Decodable { var cases: [Case] }

do {
    let vocabularyURL = URL(fileURLWithPath: vocabularyPath)
    let mergesURL = URL(fileURLWithPath: mergesPath)
    if let casesPath {
        let tokenizer = try RobertaTokenizer(vocabularyURL: vocabularyURL, mergesURL: mergesURL)
        let cases = try JSONDecoder().decode(CasesFile.self, from: Data(contentsOf: URL(fileURLWithPath: casesPath))).cases
        var mismatches = 0
        var tokens = 0
        let elapsed = try clock.measure {
            for golden in cases {
                let ids = try tokenizer.encode(golden.text, maxLength: nil).ids
                tokens += ids.count
                if ids != golden.input_ids {
                    mismatches += 1
                    if mismatches <= 5 { print("mismatch \(golden.name): \(golden.text.debugDescription)") }
                }
            }
        }
        print("verify: \(cases.count - mismatches)/\(cases.count) cases identical, \(tokens) tokens, "
            + String(format: "%.1f ms", microseconds(elapsed) / 1000))
    }
    var loads: [Double] = []
    var cold: [Double] = []
    var tokenCount = 0
    let rounds = 50
    // Cold: the first encode of a freshly loaded tokenizer (empty word cache).
    for _ in 0..<rounds {
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
    print("vocabulary: \(vocabularyPath)")
    print("phrase: \(words) words, \(tokenCount) tokens with <s> </s>")
    print(String(format: "load vocab+merges: median %.1f ms (n=%d)", median(loads) / 1000, loads.count))
    print(String(format: "encode, cold cache: median %.2f µs (min %.2f, max %.2f, n=%d)",
                 median(cold), cold.min() ?? 0, cold.max() ?? 0, cold.count))
    print(String(format: "encode, warm cache: median %.2f µs per call (n=%d × 100)", median(warm), warm.count))
} catch {
    print("tokenizer-bench: \(error)")
    exit(1)
}
