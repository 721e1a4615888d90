// The job layer may not see gRPC: its callbacks carry no gRPC types.
#include <grpcpp/grpcpp.h>
