// What the server's ports share: why a bind failed, a builder option that
// leaves reflection out, and the plaintext port that serves only health.
//
// Thread-safe.
#ifndef LRSCHED_SERVICE_SERVER_PORTS_H_
#define LRSCHED_SERVICE_SERVER_PORTS_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace lrsched {

// The service that the health status names besides the server ("").
inline constexpr char kServiceName[] = "lrsched.v1.SchedulerService";

// Why gRPC could not listen on `address` (host:port), found by binding it the
// way gRPC does, since gRPC does not say; empty when that binds.
std::string BindError(const std::string& address);

// Leaves gRPC's reflection plugin out of a server (registered for every
// server of the process once InitProtoReflectionServerBuilderPlugin ran).
std::unique_ptr<grpc::ServerBuilderOption> WithoutReflection();

// grpc.health.v1.Health alone, in plaintext, on a port of its own: the
// kubelet's gRPC probes speak plaintext only, and the main port may require
// TLS and credentials. It tells what the main port's health tells.
class HealthPort {
 public:
  // UNAVAILABLE naming the address (and why) when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HealthPort>> Start(const std::string& listen);
  ~HealthPort();

  int port() const { return port_; }
  // The status of the server ("") and of lrsched.v1.SchedulerService.
  void SetServing(bool serving);
  // NOT_SERVING for every probe from now on, then closes the port.
  void Shutdown();

 private:
  HealthPort() = default;
  std::unique_ptr<grpc::CallbackGenericService> nothing_else_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_PORTS_H_
