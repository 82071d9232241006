// Umbrella header for libzmq (pkg-config libzmq).
#include <zmq.h>
