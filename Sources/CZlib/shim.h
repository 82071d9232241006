// Umbrella header for zlib (deflate for PNG masks, crc32 for PNG chunks).
#include <zlib.h>
