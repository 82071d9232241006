import Foundation
import VideoIngest

/// Where `segment` reads frames from: a folder of images (names kept), a video file, or a live source
/// (RTSP, a V4L2 camera), each through VideoIngest's pipeline templates.
final class SegmentInput {
    private let folder: ImageFolderSource?
    private let source: VideoSource?
    let path: String
    /// Cameras and RTSP streams: no end of their own.
    let isLive: Bool
    /// Frames in a folder; nil otherwise (see `duration`).
    let frameCount: Int?
    /// A video file's length, when the container says.
    let duration: Duration?
    private var read = 0

    /// Opens `path` and starts decoding (nothing is written anywhere).
    init(_ path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        let configuration: SourceConfiguration
        if path.hasPrefix("rtsp://") || path.hasPrefix("rtsps://") {
            configuration = SourceConfiguration(.rtsp(.init(url: path)), output: .original, reconnect: .init(maxAttempts: 3))
        } else if path.hasPrefix("/dev/video") {
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError("there is no camera at \(path): list the cameras with `ls /dev/video*`")
            }
            configuration = SourceConfiguration(.v4l2(.init(device: path)), output: .original, reconnect: .init(maxAttempts: 3))
        } else if path.hasPrefix("file://") {
            guard let url = URL(string: path), FileManager.default.fileExists(atPath: url.path) else {
                throw CLIError("\(path) does not exist")
            }
            configuration = SourceConfiguration(.file(.init(path: path)), output: .original)
        } else if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                do {
                    folder = try ImageFolderSource(directory: URL(fileURLWithPath: path))
                } catch {
                    throw CLIError("\(error)")
                }
                source = nil
                isLive = false
                frameCount = folder?.frameCount
                duration = nil
                return
            }
            configuration = SourceConfiguration(.file(.init(path: path)), output: .original)
        } else {
            throw CLIError("\(path) does not exist: give a video file, a folder of frames, an rtsp:// URL, a /dev/videoN camera or a file:// URI")
        }
        folder = nil
        isLive = configuration.isLive
        frameCount = nil
        if case .file = configuration.input {
            let local = path.hasPrefix("file://") ? (URL(string: path)?.path ?? path) : path
            duration = Self.probeDuration(local)
        } else {
            duration = nil
        }
        do {
            let source = try VideoSource(configuration)
            try source.start()
            self.source = source
        } catch {
            throw CLIError("cannot open \(path): \(error)")
        }
    }

    /// Prerolls a file in a throwaway pipeline to read its duration (nil when unknown).
    static func probeDuration(_ path: String) -> Duration? {
        let escaped = path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        guard let pipeline = try? Pipeline(description: "filesrc location=\"\(escaped)\" ! decodebin ! fakesink sync=false"),
              (try? pipeline.pause()) != nil else { return nil }
        defer { pipeline.stop() }
        return pipeline.duration()
    }

    /// The output name of frame `index`: the image's name for a folder (DAVIS-style names kept),
    /// else the frame number on 5 digits.
    func frameName(_ index: Int) -> String {
        folder?.frameName(index) ?? String(format: "%05d", index)
    }

    /// The next frame, nil at the end of the input or when Ctrl-C was pressed while waiting.
    func next() throws -> VideoFrame? {
        if let folder {
            guard !Interrupt.requested else { return nil }
            do {
                return try folder.next()
            } catch {
                throw CLIError("\(error)")
            }
        }
        guard let source else { return nil }
        while !Interrupt.requested {
            do {
                switch try source.next(timeout: .milliseconds(250)) {
                case .frame(var frame):
                    frame.index = read
                    read += 1
                    return frame
                case .endOfStream: return nil
                case .timedOut: continue
                }
            } catch {
                throw CLIError("cannot decode \(path): \(error)")
            }
        }
        return nil
    }

    func stop() { source?.stop() }
}
