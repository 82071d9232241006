// What tests need from their environment: the test Python, temporary folders, and the tool-made tiny
// checkpoint.
import Foundation

/// The Python of the test environment: $REFERSTREAM_PYTHON, else <package root>/.venv/bin/python.
public let testPython: URL? = {
    if let path = ProcessInfo.processInfo.environment["REFERSTREAM_PYTHON"], !path.isEmpty,
       FileManager.default.isExecutableFile(atPath: path) {
        return URL(fileURLWithPath: path)
    }
    let venv = Fixtures.packageRoot.appendingPathComponent(".venv/bin/python")
    return FileManager.default.isExecutableFile(atPath: venv.path) ? venv : nil
}()

/// A fresh temporary directory for one test.
public func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("referstream-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `tools/make_random_checkpoint.py --tiny` into `directory`: a legacy-format `tiny.pth` and the
/// same tensors as `tiny.safetensors` (the tool's `--expected` copy).
/// - Throws: `FixtureError` without a test Python or when the tool fails.
public func makeTinyCheckpoint(in directory: URL) throws -> (pth: URL, safetensors: URL) {
    let pth = directory.appendingPathComponent("tiny.pth"), reference = directory.appendingPathComponent("tiny.safetensors")
    guard let python = testPython else { throw FixtureError("no test Python: set REFERSTREAM_PYTHON or create .venv with numpy") }
    let made = try run(python, [Fixtures.packageRoot.appendingPathComponent("tools/make_random_checkpoint.py").path, pth.path, "--tiny",
                                "--expected", reference.path])
    guard made.status == 0 else { throw FixtureError("make_random_checkpoint.py failed: \(made)") }
    return (pth, reference)
}
