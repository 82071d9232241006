import Foundation
import TestSupport
import Testing

/// Messages that say what to do (infer, convert, tokenize), through the built binary: one `error:` line,
/// exit status 1, and — for outputs that cannot be written — before any work is done.
@Suite("referstream error messages")
struct ErrorMessageTests {
    static let weights = fixture("referformer-tiny/weights.safetensors")

    @Test("an over-long phrase: the count and the limit, and how to see the tokens; no library API in the hint")
    func longPhrase() throws {
        let directory = try temporaryDirectory("long")
        defer { try? FileManager.default.removeItem(at: directory) }
        // In the golden vocabulary "Ġdog" is one token and a leading "dog" three (d, o, g): 3 + 599 + <s> </s> = 604.
        let caption = Array(repeating: "dog", count: 600).joined(separator: " ")
        let count = try runReferstream(["tokenize", "--tokenizer", fixture("tokenizer").path, "--max-tokens", "100000", caption])
        #expect(count.status == 0 && count.stdout.contains(#""count":604"#), "\(count.stderr)")
        let result = try ModelFilesTests.infer([], caption: caption, in: directory)
        ModelFilesTests.expectOneErrorLine(result.withoutLoadLine, [
            "the phrase gives 604 tokens (with <s> and </s>); the text encoder takes at most 512: shorten the phrase \"dog dog",
            "referstream tokenize",
        ])
        #expect(!result.stderr.contains("truncation"), "\(result.stderr)")
        let tokenized = try runReferstream(["tokenize", "--tokenizer", fixture("tokenizer").path, caption])
        #expect(tokenized.status == 1 && !tokenized.stderr.contains("truncation"), "\(tokenized)")
        #expect(tokenized.stderr.contains("gives 604 tokens (with <s> and </s>), more than the 512 the model accepts"), "\(tokenized.stderr)")
    }

    @Test("usage errors from the argument parser use the same `error:` prefix, exit 64, and still show the usage", arguments: [
        (["tokenize", "--tokenizer", "x", "--bogus", "a"], "error: Unknown option '--bogus'"),
        (["tokenize"], "error: Missing expected argument '--tokenizer"),
        (["no-such-command"], "error: Unexpected argument 'no-such-command'"),
    ])
    func usageErrorPrefix(_ arguments: [String], _ start: String) throws {
        let result = try runReferstream(arguments)
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.hasPrefix(start), "\(result.stderr)")
        #expect(!result.stderr.contains("Error:") && result.stderr.contains("Usage:"), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result)")
    }

    @Test("help and version still go to standard output with status 0")
    func helpAndVersion() throws {
        let help = try runReferstream(["phrase", "--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE:") && help.stderr.isEmpty, "\(help)")
        let version = try runReferstream(["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty && version.stderr.isEmpty, "\(version)")
    }

    @Test("an output that cannot be written is refused before the model is loaded", arguments: [
        ("/proc/nu_out", "cannot write /proc/nu_out: the folder /proc does not accept new files"),
        ("/nonexistent-referstream-folder/out.safetensors",
         "cannot write /nonexistent-referstream-folder/out.safetensors: the folder /nonexistent-referstream-folder does not exist"),
        ("/tmp", "cannot write /tmp: it is a folder; give a file name"),
    ])
    func unwritableInferOutput(_ output: String, _ message: String) throws {
        let result = try runReferstream(["infer", "--weights", Self.weights.path, "--tokenizer", fixture("tokenizer").path,
                                         "--frames", fixture("referformer-tiny/case_2.safetensors").path, "--frames-key", "input.frames",
                                         "--caption", "a dog", "--output", output])
        ModelFilesTests.expectOneErrorLine(result, [message])
        #expect(!result.stderr.contains("loaded"), "the model was loaded first: \(result.stderr)")
    }

    @Test("convert: an unwritable output, and a safetensors input, are one line each and leave nothing behind")
    func convertMessages() throws {
        let pth = fixture("checkpoint/checkpoint_legacy.pth").path
        ModelFilesTests.expectOneErrorLine(try runReferstream(["convert", pth, "/proc/nu_out.safetensors"]),
                                           ["cannot write /proc/nu_out.safetensors: the folder /proc does not accept new files"])
        let directory = try temporaryDirectory("convert")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("again.safetensors").path
        ModelFilesTests.expectOneErrorLine(try runReferstream(["convert", Self.weights.path, output]),
                                           ["\(Self.weights.path) is already a safetensors file: use it as it is (--weights"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        let help = try runReferstream(["convert", "--help"])
        #expect(help.stdout.contains("Exit status: 0 converted; 1"), "\(help.stdout)")
    }

    @Test("frames that are not a safetensors file: what infer reads instead")
    func framesNotSafetensors() throws {
        let directory = try temporaryDirectory("frames")
        defer { try? FileManager.default.removeItem(at: directory) }
        let image = directory.appendingPathComponent("frame.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]).write(to: image)
        let result = try runReferstream(["infer", "--weights", Self.weights.path, "--tokenizer", fixture("tokenizer").path,
                                         "--frames", image.path, "--caption", "a dog",
                                         "--output", directory.appendingPathComponent("out.safetensors").path])
        ModelFilesTests.expectOneErrorLine(result.withoutLoadLine, [
            "the frames file \(image.path) is not a safetensors or PyTorch checkpoint (it is a PNG image): infer reads normalised frames",
        ])
    }

    @Test("infer and tokenize document their exit statuses", arguments: [["infer"], ["tokenize"]])
    func helpExitStatus(_ command: [String]) throws {
        let help = try runReferstream(command + ["--help"])
        #expect(help.status == 0)
        let text = help.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        #expect(text.contains("Exit status: 0") && text.contains("64 bad arguments"), "\(help.stdout)")
    }
}

extension CommandResult {
    /// The result without the "loaded <weights> in … s" report, which a model command prints before the
    /// failure it then reports.
    var withoutLoadLine: CommandResult {
        var copy = self
        copy.stderr = stderr.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("loaded ") }.joined(separator: "\n")
        return copy
    }
}
