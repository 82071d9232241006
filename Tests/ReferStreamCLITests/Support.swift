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

/// An H.264 MP4 of `frames` frames of videotestsrc's moving ball (96×64, 10 fps) in `directory`.
func makeBallClip(in directory: URL, frames: Int) throws -> URL {
    let clip = directory.appendingPathComponent("clip.mp4")
    let made = try run(URL(fileURLWithPath: "/usr/bin/gst-launch-1.0"), [
        "-q", "videotestsrc", "num-buffers=\(frames)", "pattern=ball", "!", "video/x-raw,width=96,height=64,framerate=10/1",
        "!", "x264enc", "!", "mp4mux", "!", "filesink", "location=\(clip.path)",
    ])
    try #require(made.status == 0, "gst-launch-1.0 could not make the clip: \(made)")
    return clip
}
