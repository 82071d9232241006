// The shims are static inline functions in include/CGStreamerShims.h; this file exists because a C
// target needs at least one source file.
#include "CGStreamerShims.h"
