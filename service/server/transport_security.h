// TLS on the server's port, from PEM files that are read again while the
// server runs: Kubernetes updates a mounted Secret in place and cert-manager
// renews certificates before they expire, so a new certificate (or client
// CA) is served without a restart. gRPC's FileWatcherCertificateProvider does
// the watching; this checks the files once at start-up, so that a wrong path
// or a key that does not match its certificate is a clear error then, not a
// failed handshake for every client later.
#ifndef LRSCHED_SERVICE_SERVER_TRANSPORT_SECURITY_H_
#define LRSCHED_SERVICE_SERVER_TRANSPORT_SECURITY_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lrsched {

struct TlsFiles {
  // The server's certificate chain and its private key; both empty: no TLS.
  std::string cert_file;
  std::string key_file;
  // CA certificates that sign the clients' certificates; set: mutual TLS,
  // every client must present a certificate they sign.
  std::string client_ca_file;
  // How often the files are read again (gRPC's watcher takes whole seconds).
  absl::Duration refresh_interval = absl::Minutes(1);

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// Plaintext credentials when `files` are not enabled. INVALID_ARGUMENT,
// naming the flag, when only one of certificate and key is given, a client CA
// without them, a file cannot be read or holds no PEM of its kind, or the key
// is not the certificate's.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TlsFiles& files);

// What a replica forwards calls to the one that leads with: TLS verifying
// the leader's certificate with `ca_file` (the CA that signs the replicas'
// certificates), presenting the replica's own certificate and key from
// `files` (for a leader that requires mutual TLS); read again as the
// server's are. INVALID_ARGUMENT naming --tls_replica_ca_file when it is
// empty or cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ReplicaChannelCredentials(
    const TlsFiles& files, const std::string& ca_file);

// The identity a client's certificate proves (mutual TLS): its subject
// alternative names (DNS, URI, e-mail, IP) and, when it has none, its common
// name. Empty without a verified client certificate.
std::vector<std::string> PeerIdentities(const grpc::ServerContextBase& context);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_TRANSPORT_SECURITY_H_
