// Umbrella header for the GStreamer system library (pkg-config gstreamer-1.0, -app-1.0, -video-1.0).
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
