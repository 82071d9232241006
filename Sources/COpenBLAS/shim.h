// Umbrella header for OpenBLAS's CBLAS interface (pkg-config openblas).
#include <cblas.h>
