import Foundation
import TestSupport
import Testing

/// What a new user meets first: `--version`, the bench's help, and the tools README's links.
@Suite("referstream --version, bench help, tools README")
struct VersionAndDocsTests {
    @Test("--version prints the version written in Sources/referstream/Version.swift, and nothing else")
    func version() throws {
        let source = try String(contentsOf: packageRoot.appendingPathComponent("Sources/referstream/Version.swift"), encoding: .utf8)
        // The one string literal of `let referStreamVersion = "…"`.
        let line = try #require(source.split(separator: "\n").first { $0.hasPrefix("let referStreamVersion") })
        let parts = line.split(separator: "\"", omittingEmptySubsequences: false)
        try #require(parts.count == 3, "\(line)")
        let expected = String(parts[1])
        #expect(expected.split(separator: ".").count == 3 && expected.split(separator: ".").allSatisfy { Int($0) != nil }, "\(expected)")
        let result = try runReferstream(["--version"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == expected + "\n", "\(result.stdout)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test("referstream-bench's help does not mention a daemon")
    func benchHelp() throws {
        let bench = try #require(builtProduct("referstream-bench"), "referstream-bench is not built (swift build --build-tests builds it)")
        let result = try run(bench, ["--help"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("OPENBLAS_CORETYPE"), "\(result.stdout)")
        #expect(!result.stdout.lowercased().contains("daemon"), "\(result.stdout)")
    }

    @Test("every relative link and path in tools/README.md stays inside the repository and exists")
    func toolsReadmeLinks() throws {
        let readme = packageRoot.appendingPathComponent("tools/README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        #expect(!text.contains("shared/"), "tools/README.md names the session's shared folder")
        // Markdown link targets `](target)` that are not URLs or anchors.
        var targets: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "](") {
            let after = rest[open.upperBound...]
            guard let close = after.firstIndex(of: ")") else { break }
            targets.append(String(after[..<close]))
            rest = after[close...]
        }
        let root = packageRoot.standardizedFileURL.path
        for target in targets where !target.contains("://") && !target.hasPrefix("#") && !target.hasPrefix("mailto:") {
            let path = String(target.split(separator: "#").first ?? "")
            let resolved = readme.deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL.path
            #expect(resolved.hasPrefix(root + "/"), "\(target) leaves the repository")
            #expect(FileManager.default.fileExists(atPath: resolved), "\(target) does not exist")
        }
    }
}
