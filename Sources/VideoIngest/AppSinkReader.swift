import CGStreamer
import CGStreamerShims

/// One decoded RGB frame pulled from an appsink.
public struct RGBFrame: Sendable {
    public var width: Int
    public var height: Int
    /// Presentation timestamp in nanoseconds, if the buffer carried one.
    public var pts: UInt64?
    /// Tightly packed RGB, `height * width * 3` bytes, row-major.
    public var pixels: [UInt8]
}

/// Pulls frames synchronously from an `appsink` configured for `video/x-raw,format=RGB`.
///
/// This is the blocking pull used by tools and tests; live sources use callbacks and a bounded queue.
public struct AppSinkReader: Sendable {
    public enum Pull: Sendable {
        case frame(RGBFrame)
        case endOfStream
        case timeout
    }

    let sink: Element

    /// Finds the appsink named `name` in `pipeline`.
    /// - Throws: `.missingElement` if there is no such element or it is not an appsink.
    public init(pipeline: Pipeline, sinkName: String = "sink") throws(IngestError) {
        guard let element = pipeline.element(named: sinkName) else {
            throw IngestError(.missingElement, "the pipeline has no element named '\(sinkName)'; end it with 'appsink name=\(sinkName)'")
        }
        guard rs_gst_app_sink_cast(element.pointer) != nil else {
            throw IngestError(.missingElement, "element '\(sinkName)' is not an appsink")
        }
        self.sink = element
    }

    /// Waits up to `timeoutNanoseconds` for the next frame (`gst_app_sink_try_pull_sample`).
    public func pull(timeoutNanoseconds: UInt64) throws(IngestError) -> Pull {
        let appsink = rs_gst_app_sink_cast(sink.pointer)!
        guard let sample = gst_app_sink_try_pull_sample(appsink, GstClockTime(timeoutNanoseconds)) else {
            return gst_app_sink_is_eos(appsink) != 0 ? .endOfStream : .timeout
        }
        defer { gst_sample_unref(sample) }
        return .frame(try Self.frame(from: sample))
    }

    /// Copies an RGB sample into a packed frame, honouring the row stride GStreamer chose.
    static func frame(from sample: OpaquePointer) throws(IngestError) -> RGBFrame {
        guard let caps = gst_sample_get_caps(sample), let buffer = gst_sample_get_buffer(sample) else {
            throw IngestError(.badSample, "a sample arrived without caps or buffer")
        }
        var info = GstVideoInfo()
        guard gst_video_info_from_caps(&info, caps) != 0 else {
            throw IngestError(.badSample, "the sample's caps are not raw video")
        }
        guard info.finfo.pointee.format == GST_VIDEO_FORMAT_RGB else {
            throw IngestError(.badSample, "the sample is not RGB; put 'videoconvert ! video/x-raw,format=RGB' before the appsink")
        }
        let width = Int(info.width), height = Int(info.height), stride = Int(info.stride.0)
        var map = GstMapInfo()
        guard gst_buffer_map(buffer, &map, GST_MAP_READ) != 0 else {
            throw IngestError(.badSample, "the sample's buffer cannot be mapped for reading")
        }
        defer { gst_buffer_unmap(buffer, &map) }
        let rowBytes = width * 3
        guard stride >= rowBytes, Int(map.size) >= stride * (height - 1) + rowBytes else {
            throw IngestError(.badSample, "the buffer holds \(map.size) bytes, too few for \(width)x\(height) RGB")
        }
        var pixels = [UInt8](repeating: 0, count: rowBytes * height)
        pixels.withUnsafeMutableBytes { dst in
            for y in 0..<height {
                (dst.baseAddress! + y * rowBytes).copyMemory(from: map.data + y * stride, byteCount: rowBytes)
            }
        }
        var pts: GstClockTime = 0
        let hasPTS = rs_gst_buffer_pts(buffer, &pts) != 0
        return RGBFrame(width: width, height: height, pts: hasPTS ? UInt64(pts) : nil, pixels: pixels)
    }
}
