import Foundation
import Tracking
import WireProtocol

/// `segment`'s output folder: OUTPUT/<phrase>/<frame>.png masks (0/255), OUTPUT/overlay/<frame>.png,
/// and OUTPUT/phrases.json with every frame's track id, score, presence and box.
final class SegmentWriter {
    /// Overlay colours, one per phrase in order (repeating after the last).
    static let palette: [(UInt8, UInt8, UInt8)] = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240)]

    let folder: URL
    let phrases: [(id: String, text: String)]
    let overlay: Bool
    private(set) var masksWritten = 0
    private(set) var framesWritten = 0
    /// Per phrase, one JSON object per written frame.
    private var records: [[[String: Any]]]

    init(folder: URL, phrases: [(id: String, text: String)], overlay: Bool) {
        self.folder = folder
        self.phrases = phrases
        self.overlay = overlay
        records = phrases.map { _ in [] }
    }

    /// Refuses an output folder that holds anything unless `overwrite` (checked before any work).
    static func check(_ folder: URL, overwrite: Bool) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw CLIError("the output \(folder.path) is a file: give a folder (created if needed)")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        if !entries.isEmpty && !overwrite {
            throw CLIError("the output folder \(folder.path) is not empty: choose another folder, or pass --overwrite to replace the results in it")
        }
    }

    /// Creates the folders, first removing what an earlier run wrote there (p1/, p2/, …, overlay/,
    /// phrases.json). Called once decoding works.
    func prepare() throws {
        let manager = FileManager.default
        for entry in (try? manager.contentsOfDirectory(atPath: folder.path)) ?? []
        where entry == "phrases.json" || entry == "overlay" || entry.wholeMatch(of: /p[0-9]+/) != nil {
            do {
                try manager.removeItem(at: folder.appendingPathComponent(entry))
            } catch {
                throw CLIError("cannot remove the old \(folder.appendingPathComponent(entry).path): \(reason(error))")
            }
        }
        for sub in phrases.map(\.id) + (overlay ? ["overlay"] : []) {
            let url = folder.appendingPathComponent(sub)
            do {
                try manager.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                throw CLIError("cannot create the folder \(url.path): \(reason(error))")
            }
        }
    }

    /// Writes the masks of the frames a tracker call completed (frame order, then phrase order).
    /// - Parameter pixels: RGB of those frames (for the overlay), by frame index.
    func write(_ masks: [TrackedMask], name: (Int) -> String, pixels: [Int: [UInt8]]) throws {
        var start = 0
        while start < masks.count {
            let frame = masks[start].frameIndex
            var end = start
            while end < masks.count && masks[end].frameIndex == frame { end += 1 }
            try writeFrame(Array(masks[start..<end]), name: name(frame), pixels: pixels[frame])
            start = end
        }
    }

    private func writeFrame(_ masks: [TrackedMask], name: String, pixels: [UInt8]?) throws {
        var tinted = pixels
        for mask in masks {
            guard let p = phrases.firstIndex(where: { $0.id == mask.phraseID }) else { continue }
            let png: [UInt8]
            do {
                png = PNG.encode(try BinaryMask(width: mask.width, height: mask.height, pixels: mask.mask))
            } catch {
                throw CLIError("cannot encode the mask of frame \(name): \(error)")
            }
            try save(Data(png), to: folder.appendingPathComponent(mask.phraseID).appendingPathComponent(name + ".png"))
            masksWritten += 1
            if overlay, tinted != nil {
                let color = Self.palette[p % Self.palette.count]
                Self.tint(&tinted!, mask: mask.mask, color: color)  // checked just above
            }
            var record: [String: Any] = ["frame": name, "index": mask.frameIndex, "track_id": mask.trackID,
                                         "score": Double(mask.score), "present": mask.present]
            if let b = mask.box { record["box"] = [b.x0, b.y0, b.x1, b.y1].map(Double.init) }
            records[p].append(record)
        }
        if overlay, let tinted, let first = masks.first {
            try save(Data(PNG.encodeRGB(width: first.width, height: first.height, pixels: tinted)),
                     to: folder.appendingPathComponent("overlay").appendingPathComponent(name + ".png"))
        }
        framesWritten += 1
    }

    /// Blends `color` at 50 % into `pixels` wherever `mask` is set: `(pixel + color + 1) / 2`, so an
    /// overlay pixel is exactly predictable.
    static func tint(_ pixels: inout [UInt8], mask: [UInt8], color: (UInt8, UInt8, UInt8)) {
        let rgb = [UInt16(color.0), UInt16(color.1), UInt16(color.2)]
        pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<mask.count where mask[i] != 0 {
                for c in 0..<3 { p[3 * i + c] = UInt8((UInt16(p[3 * i + c]) + rgb[c] + 1) / 2) }
            }
        }
    }

    /// phrases.json: the input, the window, whether the run completed, and per phrase its frames.
    func finish(input: String, window: WindowConfiguration, complete: Bool) throws {
        let summary: [[String: Any]] = phrases.enumerated().map { p, phrase in
            let color = Self.palette[p % Self.palette.count]
            return ["id": phrase.id, "text": phrase.text, "overlay_rgb": [Int(color.0), Int(color.1), Int(color.2)], "frames": records[p]]
        }
        let windowInfo: Any = window.isWholeVideo ? "whole-video" : ["length": window.length, "stride": window.stride]
        let document: [String: Any] = ["input": input, "frames": framesWritten, "complete": complete, "window": windowInfo, "phrases": summary]
        let json: Data
        do {
            json = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        } catch {
            throw CLIError("cannot encode phrases.json: \(error)")
        }
        try save(json, to: folder.appendingPathComponent("phrases.json"))
    }

    /// Mean score of phrase `p` over the frames written.
    func meanScore(_ p: Int) -> Double {
        let scores = records[p].compactMap { $0["score"] as? Double }
        return scores.isEmpty ? 0 : scores.reduce(0, +) / Double(scores.count)
    }

    /// Track ids phrase `p` used, in order of appearance.
    func trackIDs(_ p: Int) -> [Int] {
        var seen: [Int] = []
        for id in records[p].compactMap({ $0["track_id"] as? Int }) where !seen.contains(id) { seen.append(id) }
        return seen
    }

    private func save(_ data: Data, to url: URL) throws {
        do {
            try data.write(to: url)
        } catch {
            throw CLIError("cannot write \(url.path): \(reason(error))")
        }
    }
}

/// The operating system's reason for a Foundation file error, in one line (`No space left on device`),
/// instead of "The operation could not be completed".
func reason(_ error: any Error) -> String {
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    // Foundation's file codes, when it gives no POSIX cause (its text starts "The operation could not be completed").
    switch ns.code {
    case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or folder"
    case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
    case NSFileWriteOutOfSpaceError: return "no space left on the device"
    case NSFileWriteVolumeReadOnlyError: return "read-only file system"
    default: return ns.localizedDescription
    }
}
