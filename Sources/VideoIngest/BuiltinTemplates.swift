// The built-in pipeline templates: the exact text of pipelines/*.pipeline, so the daemon works
// without the folder installed. A test compares each one with its file byte for byte; edit both.
extension PipelineTemplate {
    /// The text of `pipelines/<kind>.pipeline` as shipped with ReferStream.
    static let builtinText: [String: String] = [
        "file": #"""
# ReferStream pipeline template: file
#
# Decodes any file GStreamer can demux and decode: mp4/mov (H.264, H.265), mkv/webm (VP8, VP9, AV1), ...
# uridecodebin picks the demuxer and decoder by content, not by file extension.
#
# Parameters (filled by ReferStream from the source configuration; values are quoted and escaped):
#   {uri}     file:// URI of the input, made from the configured path (absolute, percent-encoded).
#   {output}  ReferStream's output chain, always last: [videoscale to the model input size !]
#             videoconvert ! RGB ! appsink. Without `realtime` the appsink holds a few frames and
#             GStreamer blocks the decoder when they are not consumed (backpressure, no drops); with
#             `realtime` it syncs to the clock and frames go through the live drop-oldest queue.
#
# Placeholders are `{lowercase_name}`; every placeholder must be filled, and unknown values are rejected.
uridecodebin uri={uri} ! {output}

"""#,
        "rtsp": #"""
# ReferStream pipeline template: rtsp
#
# An RTSP camera or server. rtspsrc negotiates the session and depayloads through its jitterbuffer;
# decodebin picks the depayloader and decoder (H.264, H.265, MJPEG, ...).
#
# Parameters (filled by ReferStream from the source configuration):
#   {location}   rtsp:// URL, quoted and escaped.
#   {latency}    jitterbuffer latency in milliseconds (integer; default 200).
#   {protocols}  lower transports rtspsrc may use: `tcp`, `udp` or `tcp+udp-mcast+udp` (any).
#   {timeout}    microseconds (integer) before rtspsrc gives up on a TCP connection and before it
#                retries over TCP when UDP stays silent (default 5 s).
#   {user_id}    user name for authentication, quoted (empty: none).
#   {user_pw}    password for authentication, quoted (empty: none).
#   {output}     ReferStream's output chain (scale, convert to RGB, appsink feeding the drop-oldest queue).
#
# Stall detection and reconnection are done by ReferStream around this pipeline: a stream that stops
# is torn down to NULL and rebuilt from this template with capped exponential backoff.
rtspsrc location={location} latency={latency} protocols={protocols} timeout={timeout} tcp-timeout={timeout}
  user-id={user_id} user-pw={user_pw}
  ! decodebin ! {output}

"""#,
        "v4l2": #"""
# ReferStream pipeline template: v4l2
#
# A V4L2 camera (/dev/videoN). The capsfilter selects the camera mode; decodebin decodes MJPEG modes and
# passes raw modes (YUY2, NV12, ...) through.
#
# Parameters (filled by ReferStream from the source configuration):
#   {device}  device node, quoted (default /dev/video0).
#   {caps}    camera mode as a caps string, quoted, built from the configured format, width, height and
#             framerate, e.g. "video/x-raw,format=YUY2,width=1280,height=720,framerate=30/1" or
#             "image/jpeg,width=1920,height=1080"; unset fields are left to negotiation.
#   {output}  ReferStream's output chain (scale, convert to RGB, appsink feeding the drop-oldest queue).
v4l2src device={device} ! capsfilter caps={caps} ! decodebin ! {output}

"""#,
        "test": #"""
# ReferStream pipeline template: test
#
# A synthetic source (videotestsrc) for demos and tests. In live mode it produces frames at the given
# framerate against the clock, like a camera, and goes through the drop-oldest queue; otherwise it
# produces frames as fast as they are consumed (backpressure).
#
# Parameters (filled by ReferStream from the source configuration):
#   {pattern}      videotestsrc pattern name, e.g. smpte, ball, snow, black (see gst-inspect-1.0 videotestsrc).
#   {live}         true or false.
#   {num_buffers}  number of frames before end-of-stream (integer; -1: endless).
#   {width}        frame width in pixels (integer).
#   {height}       frame height in pixels (integer).
#   {framerate}    frames per second as a fraction, e.g. 25/1.
#   {output}       ReferStream's output chain (scale, convert to RGB, appsink).
videotestsrc pattern={pattern} is-live={live} num-buffers={num_buffers}
  ! video/x-raw,width={width},height={height},framerate={framerate} ! {output}

"""#,
        "custom": #"""
# ReferStream pipeline template: custom
#
# A full user pipeline: any gst-launch-1.0 description whose last element produces raw video
# (video/x-raw, any format and size). ReferStream appends its own output chain, which ends in the
# project's appsink, so the description must not contain an appsink named referstream_sink.
# Example: souphttpsrc location=https://example.org/cam.mjpg ! multipartdemux ! jpegdec
#
# Parameters:
#   {pipeline}  the user's description, inserted verbatim (it is checked by GStreamer's parser).
#   {output}    ReferStream's output chain (scale, convert to RGB, appsink); the configuration says
#               whether the source is live (drop-oldest queue, reconnect) or not (backpressure).
{pipeline} ! {output}

"""#,
    ]
}
