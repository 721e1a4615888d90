#include "service/server/transport_security.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace lrsched {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream pem;
  if (!in || !(pem << in.rdbuf())) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  }
  return pem.str();
}

std::unique_ptr<BIO, BioFree> Bio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of `pem`, or null.
std::unique_ptr<X509, X509Free> FirstCertificate(const std::string& pem) {
  auto bio = Bio(pem);
  return std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const TlsFiles& files) {
  if (!files.enabled()) {
    if (!files.client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca_file needs --tls_cert_file and --tls_key_file: mutual TLS is TLS");
    }
    return grpc::InsecureServerCredentials();
  }
  if (files.cert_file.empty() || files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file go together: give both, or neither for plaintext");
  }
  auto cert = ReadPem("tls_cert_file", files.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("tls_key_file", files.key_file);
  if (!key.ok()) return key.status();
  auto certificate = FirstCertificate(*cert);
  if (certificate == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert_file: ", files.cert_file, " holds no PEM certificate"));
  }
  auto key_bio = Bio(*key);
  std::unique_ptr<EVP_PKEY, KeyFree> private_key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (private_key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key_file: ", files.key_file, " holds no PEM private key (or it is encrypted)"));
  }
  if (X509_check_private_key(certificate.get(), private_key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--tls_key_file: ", files.key_file,
                                                   " is not the key of the certificate in ",
                                                   files.cert_file));
  }
  if (!files.client_ca_file.empty()) {
    auto roots = ReadPem("tls_client_ca_file", files.client_ca_file);
    if (!roots.ok()) return roots.status();
    if (FirstCertificate(*roots) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("--tls_client_ca_file: ", files.client_ca_file,
                                                     " holds no PEM certificate"));
    }
  }
  const auto refresh =
      static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(files.refresh_interval)));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.client_ca_file, refresh);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!files.client_ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ReplicaChannelCredentials(
    const TlsFiles& files, const std::string& ca_file) {
  if (ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_replica_ca_file: replicas on etcd that serve TLS forward calls to the one that "
        "leads over TLS, verified with the CA that signs their certificates: give it (or "
        "--tls_client_ca_file)");
  }
  auto roots = ReadPem("tls_replica_ca_file", ca_file);
  if (!roots.ok()) return roots.status();
  if (FirstCertificate(*roots) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_replica_ca_file: ", ca_file, " holds no PEM certificate"));
  }
  const auto refresh = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(files.refresh_interval)));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, ca_file, refresh);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  return grpc::experimental::TlsCredentials(options);
}

std::vector<std::string> PeerIdentities(const grpc::ServerContextBase& context) {
  std::vector<std::string> identities;
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return identities;
  for (const grpc::string_ref& name : auth->FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME)) {
    identities.emplace_back(name.data(), name.size());
  }
  if (identities.empty()) {
    for (const grpc::string_ref& name : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
      identities.emplace_back(name.data(), name.size());
    }
  }
  return identities;
}

}  // namespace lrsched
