import Foundation
import TestSupport
import Testing

/// The package root, found from this file's path (Tests/ReferStreamCLITests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Fixture folder `Tests/Fixtures/<name>`.
func fixture(_ name: String) -> URL {
    packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(name)
}

/// Runs the built `referstream` with `arguments` (TestSupport's runner drains both streams concurrently).
func runReferstream(_ arguments: [String]) throws -> CommandResult {
    let binary = try #require(builtProduct("referstream"), "the referstream executable is not built next to the tests (swift build --build-tests)")
    return try run(binary, arguments)
}
