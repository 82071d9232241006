#ifndef REFERSTREAM_CGSTREAMER_SHIMS_H
#define REFERSTREAM_CGSTREAMER_SHIMS_H

// Only what Swift cannot import from GStreamer/GLib: function-like macros (Swift imports no macro
// that takes arguments) and variadic functions. Each shim is one line and says which macro it wraps.

#include <gst/gst.h>
#include <gst/app/gstappsink.h>

// GST_ELEMENT() / GST_BIN() / GST_APP_SINK(): GObject's checked instance casts are macros.
// They return NULL when the instance is not of the requested type (instead of warning and casting),
// so Swift gets an optional and can throw a typed error.
static inline GstElement *_Nullable rs_gst_element_cast(gpointer _Nullable object) {
  return (object != NULL && GST_IS_ELEMENT(object)) ? GST_ELEMENT(object) : NULL;
}
static inline GstBin *_Nullable rs_gst_bin_cast(gpointer _Nullable object) {
  return (object != NULL && GST_IS_BIN(object)) ? GST_BIN(object) : NULL;
}
static inline GstAppSink *_Nullable rs_gst_app_sink_cast(gpointer _Nullable object) {
  return (object != NULL && GST_IS_APP_SINK(object)) ? GST_APP_SINK(object) : NULL;
}

// GST_BUFFER_PTS() / GST_BUFFER_DURATION(): macros over the buffer struct; GST_CLOCK_TIME_NONE is a
// cast macro too, so the "no timestamp" case is folded into a flag here.
static inline gboolean rs_gst_buffer_pts(GstBuffer *_Nonnull buffer, GstClockTime *_Nonnull out) {
  *out = GST_BUFFER_PTS(buffer);
  return GST_CLOCK_TIME_IS_VALID(*out);
}
static inline gboolean rs_gst_buffer_duration(GstBuffer *_Nonnull buffer, GstClockTime *_Nonnull out) {
  *out = GST_BUFFER_DURATION(buffer);
  return GST_CLOCK_TIME_IS_VALID(*out);
}

// GST_MESSAGE_TYPE() / GST_MESSAGE_SRC(): macros over the message struct.
static inline GstMessageType rs_gst_message_type(GstMessage *_Nonnull message) {
  return GST_MESSAGE_TYPE(message);
}
static inline GstObject *_Nullable rs_gst_message_src(GstMessage *_Nonnull message) {
  return GST_MESSAGE_SRC(message);
}

// GST_OBJECT_NAME(): macro over the object struct (borrowed string, valid while the object lives).
static inline const gchar *_Nullable rs_gst_object_name(GstObject *_Nullable object) {
  return object != NULL ? GST_OBJECT_NAME(object) : NULL;
}

// g_signal_connect(): a macro over g_signal_connect_data() with a G_CALLBACK() cast; the handler is
// passed as a generic function pointer, which Swift cannot form from a @convention(c) closure of
// another type.
static inline gulong rs_g_signal_connect(gpointer _Nonnull instance, const gchar *_Nonnull signal,
                                         void *_Nonnull handler, gpointer _Nullable data) {
  return g_signal_connect_data(instance, signal, G_CALLBACK(handler), data, NULL, (GConnectFlags)0);
}

// g_object_set() is variadic, which Swift cannot call; these set one property of a known type.
static inline void rs_g_object_set_boolean(gpointer _Nonnull object, const gchar *_Nonnull name, gboolean value) {
  g_object_set(object, name, value, NULL);
}
static inline void rs_g_object_set_int(gpointer _Nonnull object, const gchar *_Nonnull name, gint value) {
  g_object_set(object, name, value, NULL);
}
static inline void rs_g_object_set_uint(gpointer _Nonnull object, const gchar *_Nonnull name, guint value) {
  g_object_set(object, name, value, NULL);
}
static inline void rs_g_object_set_uint64(gpointer _Nonnull object, const gchar *_Nonnull name, guint64 value) {
  g_object_set(object, name, value, NULL);
}
static inline void rs_g_object_set_string(gpointer _Nonnull object, const gchar *_Nonnull name, const gchar *_Nullable value) {
  g_object_set(object, name, value, NULL);
}

// g_object_set() for a GstCaps-valued property (capsfilter "caps"): variadic, like the ones above.
// The caps are copied by the property setter; the caller keeps its reference.
static inline void rs_g_object_set_caps(gpointer _Nonnull object, const gchar *_Nonnull name, GstCaps *_Nullable value) {
  g_object_set(object, name, value, NULL);
}

// GST_EVENT_TYPE() / GST_PAD_PROBE_INFO_EVENT(): macros over the event and probe-info structs.
static inline GstEvent *_Nullable rs_gst_pad_probe_info_event(GstPadProbeInfo *_Nonnull info) {
  return GST_PAD_PROBE_INFO_EVENT(info);
}
static inline GstEventType rs_gst_event_type(GstEvent *_Nonnull event) {
  return GST_EVENT_TYPE(event);
}

// GST_CLOCK_TIME_NONE is a cast macro ((GstClockTime) -1), which Swift does not import: the "wait
// forever" timeout of gst_bus_timed_pop().
static inline GstClockTime rs_gst_clock_time_none(void) {
  return GST_CLOCK_TIME_NONE;
}

// GST_OBJECT(): the checked cast is a macro; returns NULL for anything that is not a GstObject.
static inline GstObject *_Nullable rs_gst_object_cast(gpointer _Nullable object) {
  return (object != NULL && GST_IS_OBJECT(object)) ? GST_OBJECT(object) : NULL;
}

#endif
