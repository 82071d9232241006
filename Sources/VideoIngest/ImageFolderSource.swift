import Foundation

/// Frames from a folder of images (PNG, JPEG, BMP, WebP, TIFF), in file-name order, at their original
/// size: the DAVIS / YouTube-VOS layout of a video as numbered JPEGs.
///
/// Each image is decoded by the `file` pipeline template (`uridecodebin`, any format GStreamer reads)
/// through a one-frame `VideoSource`, so a folder gives the same `VideoFrame`s as a video file, with
/// `index` = position in the folder and no presentation time. Not thread-safe: one consumer.
public final class ImageFolderSource {
    /// The file extensions read (lower case).
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"]

    public let directory: URL
    /// The images, in the order they are delivered.
    public let fileNames: [String]
    private var position = 0

    /// Lists the folder's images.
    /// - Throws: `.notFound` when the folder does not exist or holds no image.
    public init(directory: URL) throws(IngestError) {
        self.directory = directory
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw IngestError(.notFound, "cannot list the folder \(directory.path)", underlying: "\(error.localizedDescription)")
        }
        fileNames = names.filter { Self.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !fileNames.isEmpty else {
            throw IngestError(.notFound, "the folder \(directory.path) has no PNG or JPEG frames")
        }
    }

    public var frameCount: Int { fileNames.count }

    /// The name of frame `index` without its extension (`00012` for `00012.jpg`), for outputs that keep
    /// the input's frame names.
    public func frameName(_ index: Int) -> String { (fileNames[index] as NSString).deletingPathExtension }

    /// The next image as RGB at its original size, or nil after the last one.
    /// - Throws: `.decode` (with GStreamer's reason) when an image cannot be decoded.
    public func next(timeout: Duration = .seconds(30)) throws(IngestError) -> VideoFrame? {
        guard position < fileNames.count else { return nil }
        let path = directory.appendingPathComponent(fileNames[position]).path
        let source = try VideoSource(SourceConfiguration(.file(.init(path: path)), output: .original, connectTimeout: timeout))
        try source.start()
        defer { source.stop() }
        let result: VideoSource.Next
        do {
            result = try source.next(timeout: timeout)
        } catch {
            throw IngestError(.decode, "cannot decode \(path): \(error.message)", underlying: error.underlying)
        }
        guard case .frame(var frame) = result else {
            throw IngestError(.decode, "cannot decode \(path): no image came out of it")
        }
        frame.index = position
        frame.presentationTime = nil
        position += 1
        return frame
    }
}
