import Foundation
import Testing
import VideoIngest

@Suite("Image folder source")
struct ImageFolderSourceTests {
    /// PNG frames of one solid colour each, made by GStreamer's own encoder; the source must give them
    /// back in name order with exact RGB values, at their own size, with their names.
    @Test("a folder of PNG frames is read in name order, exactly, with its names")
    func folder() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let colours: [(name: String, argb: UInt32)] = [("b-002", 0xff102030), ("a-001", 0xffc08040), ("c-010", 0xff00ff7f)]
        for c in colours {
            try TestSupport.gstLaunch("videotestsrc num-buffers=1 pattern=solid-color foreground-color=\(c.argb) ! video/x-raw,format=RGB,width=20,height=12 ! pngenc ! filesink location=\(directory.appendingPathComponent(c.name + ".png").path)")
        }
        try Data("not an image".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        let source = try ImageFolderSource(directory: directory)
        #expect(source.fileNames == ["a-001.png", "b-002.png", "c-010.png"] && source.frameCount == 3)
        for (i, c) in colours.sorted(by: { $0.name < $1.name }).enumerated() {
            let frame = try #require(try source.next())
            let rgb = [UInt8((c.argb >> 16) & 0xff), UInt8((c.argb >> 8) & 0xff), UInt8(c.argb & 0xff)]
            #expect(frame.index == i && frame.width == 20 && frame.height == 12 && source.frameName(i) == c.name)
            #expect(frame.pixels == Array((0..<(20 * 12)).map { _ in rgb }.joined()), "frame \(i)")
        }
        #expect(try source.next() == nil)
    }

    @Test("a folder without images and an undecodable image are errors that say which")
    func errors() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: IngestError.self) { try ImageFolderSource(directory: directory) }
        let bad = directory.appendingPathComponent("0001.jpg")
        try Data(repeating: 7, count: 100).write(to: bad)
        let source = try ImageFolderSource(directory: directory)
        do {
            _ = try source.next()
            Issue.record("a corrupt image was decoded")
        } catch {
            #expect(error.code == .decode && error.message.hasPrefix("cannot decode \(bad.path)"), "\(error)")
        }
    }
}
