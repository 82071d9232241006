import ArgumentParser
import Checkpoint
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `referstream convert`: an official PyTorch checkpoint → safetensors (memory-mapped loading).
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PyTorch checkpoint (.pth) to safetensors.",
        discussion: """
            Reads the state dict of a torch.save file (the legacy format of the released ReferFormer \
            checkpoints or the zip format), without Python and without executing anything in it: the \
            'model' entry of {'model': …, 'optimizer': …, 'epoch': …, 'args': …}, or the top-level dict. \
            Every tensor is written contiguous, under its state-dict key, in order; tensors that share a \
            storage (ReferFormer's transformer.decoder.bbox_embed.* twins of bbox_embed.*) are each \
            written as their own copy. Then prints a report: tensors and bytes written, state-dict entries \
            that were not tensors (skipped), and the groups of keys that shared storage. On a terminal, \
            a progress line is shown on standard error. A missing, truncated or corrupt input gives one \
            error line and exit status 1, and leaves no output file.

            Exit status: 0 converted; 1 the input is not a readable PyTorch checkpoint, or the output \
            cannot be written; 64 bad arguments.
            """)

    @Argument(help: ArgumentHelp("The PyTorch checkpoint to read.", valueName: "in.pth"))
    var input: String

    @Argument(help: ArgumentHelp("The safetensors file to write (replaced if it exists).", valueName: "out.safetensors"))
    var output: String

    @Flag(name: .customLong("float32"), help: "Write float16, bfloat16 and float64 tensors as float32 (integer tensors keep their type).")
    var float32 = false

    func validate() throws {
        let a = URL(fileURLWithPath: input).standardizedFileURL.path, b = URL(fileURLWithPath: output).standardizedFileURL.path
        guard a != b else { throw ValidationError("the output must not be the input file") }
    }

    func run() throws {
        let inputURL = URL(fileURLWithPath: input), outputURL = URL(fileURLWithPath: output)
        guard FileManager.default.fileExists(atPath: input) else {
            printError("error: \(input) does not exist")
            throw ExitCode(1)
        }
        do {
            if try CheckpointFormat(contentsOf: inputURL) == .safetensors {
                printError("error: \(input) is already a safetensors file: use it as it is (--weights \(input))")
                throw ExitCode(1)
            }
            try checkWritableOutput(output)
        } catch let error as CheckpointError where error.code == .unrecognizedFormat {
            printError("error: \(input) is \(error.message): convert reads an official ReferFormer .pth file")
            throw ExitCode(1)
        } catch let error as CheckpointError {
            printError("error: cannot read \(input): \(error.message)")
            throw ExitCode(1)
        } catch let error as CLIError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        // A progress line only on a terminal, redrawn in place, at most once per percent.
        let showProgress = isatty(STDERR_FILENO) == 1
        var lastShown = -1
        let report: CheckpointConverter.Report
        do {
            report = try CheckpointConverter.convert(
                pth: inputURL, to: outputURL, options: .init(castFloatingPointToFloat32: float32)
            ) { written, total in
                guard showProgress else { return }
                let percent = total == 0 ? 100 : written * 100 / total
                guard percent != lastShown else { return }
                lastShown = percent
                FileHandle.standardError.write(Data("\rconverting: \(written)/\(total) tensors (\(percent) %)".utf8))
            }
        } catch {
            if showProgress && lastShown >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            printError("error: cannot convert \(input): \((error as? CheckpointError)?.message ?? "\(error)")")
            throw ExitCode(1)
        }
        if showProgress && lastShown >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        for line in Self.reportLines(report, input: input, output: output) { print(line) }
    }

    static func reportLines(_ report: CheckpointConverter.Report, input: String, output: String) -> [String] {
        var lines = [
            "converted \(input) (\(report.sourceFormat.rawValue) format) to \(output)",
            "tensors: \(report.tensorCount)",
            "tensor bytes: \(report.tensorBytes)",
            "file bytes: \(report.fileBytes)",
            "skipped non-tensor entries: \(report.skippedEntries.count)",
        ]
        lines += report.skippedEntries.map { "  \($0)" }
        lines.append("shared-storage groups: \(report.sharedStorage.count) (each key written as its own copy)")
        lines += report.sharedStorage.map { "  " + $0.joined(separator: " = ") }
        return lines
    }
}
