#include "service/server/access_control.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "service/server/transport_security.h"
#include "yaml-cpp/yaml.h"

namespace lrsched {

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

struct AccessControl::Table {
  // Scanned whole for every token: no early exit, so that the time taken
  // does not tell how much of a guess was right.
  std::vector<std::pair<Digest, Caller>> tokens;
  absl::flat_hash_map<std::string, Caller> certificate_names;
};

namespace {

std::atomic<uint64_t> next_instance{1};

Digest Sha256(absl::string_view text) {
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

bool JobScoped(Rpc rpc) { return rpc != Rpc::kListJobs && rpc != Rpc::kPreviewSchedule; }

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kWorker:
      return "worker";
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
  }
  return "unknown";
}

absl::string_view RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kCreateJob:
      return "CreateJob";
    case Rpc::kGetJob:
      return "GetJob";
    case Rpc::kListJobs:
      return "ListJobs";
    case Rpc::kDeleteJob:
      return "DeleteJob";
    case Rpc::kStep:
      return "Step";
    case Rpc::kReportMetric:
      return "ReportMetric";
    case Rpc::kSetLearningRate:
      return "SetLearningRate";
    case Rpc::kSetWorldSize:
      return "SetWorldSize";
    case Rpc::kWatchJob:
      return "WatchJob";
    case Rpc::kPreviewSchedule:
      return "PreviewSchedule";
  }
  return "unknown";
}

bool RoleAllows(Role role, Rpc rpc) {
  switch (role) {
    case Role::kOperator:
      return true;
    case Role::kWorker:
      return rpc == Rpc::kStep || rpc == Rpc::kReportMetric || rpc == Rpc::kGetJob ||
             rpc == Rpc::kWatchJob || rpc == Rpc::kCreateJob;
    case Role::kViewer:
      return rpc == Rpc::kGetJob || rpc == Rpc::kListJobs || rpc == Rpc::kWatchJob ||
             rpc == Rpc::kPreviewSchedule;
  }
  return false;
}

absl::StatusOr<std::shared_ptr<const AccessControl::Table>> AccessControl::Parse(
    const std::string& text) {
  // yaml-cpp throws wherever a node is not what it is read as: any of that
  // is a refused file, never an exception out of the watcher thread.
  try {
    return ParseYaml(YAML::Load(text));
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("not a callers file: ", error.what()));
  }
}

absl::StatusOr<std::shared_ptr<const AccessControl::Table>> AccessControl::ParseYaml(
    const YAML::Node& root) {
  if (!root.IsMap() || !root["callers"] || !root["callers"].IsSequence()) {
    return absl::InvalidArgumentError("the file must hold `callers:`, a list of callers");
  }
  auto table = std::make_shared<Table>();
  absl::flat_hash_map<std::string, bool> names;
  int index = 0;
  for (const YAML::Node& entry : root["callers"]) {
    const std::string where = absl::StrCat("callers[", index++, "]");
    if (!entry.IsMap()) return absl::InvalidArgumentError(absl::StrCat(where, ": not a map"));
    for (const auto& field : entry) {
      if (!field.first.IsScalar()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": a key that is not a name"));
      }
      const std::string key = field.first.as<std::string>();
      if (key != "name" && key != "role" && key != "job_prefix" && key != "token" &&
          key != "token_sha256" && key != "certificate_name") {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": unknown field ", key,
                         " (name, role, job_prefix, token, token_sha256, certificate_name)"));
      }
      if (!field.second.IsScalar()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".", key, ": not a string"));
      }
    }
    const auto get = [&entry](const char* key) {
      return entry[key] ? entry[key].as<std::string>() : std::string();
    };
    Caller caller;
    caller.name = get("name");
    if (caller.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".name: required (for the logs)"));
    }
    if (names[caller.name]) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".name: ", caller.name, " names another caller too"));
    }
    names[caller.name] = true;
    const std::string role = get("role");
    if (role == "worker") {
      caller.role = Role::kWorker;
    } else if (role == "viewer") {
      caller.role = Role::kViewer;
    } else if (role == "operator") {
      caller.role = Role::kOperator;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".role: must be worker, viewer or operator, got '", role, "'"));
    }
    caller.job_prefix = get("job_prefix");
    if (caller.job_prefix.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
        std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".job_prefix: '", caller.job_prefix,
          "' holds a character no job id has (ids are letters, digits, '.', '_' and '-')"));
    }
    const std::string token = get("token");
    const std::string token_sha256 = absl::AsciiStrToLower(get("token_sha256"));
    const std::string certificate_name = get("certificate_name");
    const int identities = !token.empty() + !token_sha256.empty() + !certificate_name.empty();
    if (identities != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " (", caller.name,
                       "): give exactly one of token, token_sha256 and certificate_name"));
    }
    if (!certificate_name.empty()) {
      if (!table->certificate_names.emplace(certificate_name, caller).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".certificate_name: ", certificate_name, " is another caller's too"));
      }
      continue;
    }
    Digest digest;
    if (!token.empty()) {
      if (token.size() < 16) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".token: at least 16 characters (e.g. openssl rand -hex 32)"));
      }
      digest = Sha256(token);
    } else {
      std::string bytes;
      if (token_sha256.size() != 2 * digest.size() ||
          token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".token_sha256: 64 hexadecimal digits (sha256sum of the token)"));
      }
      bytes = absl::HexStringToBytes(token_sha256);
      std::copy(bytes.begin(), bytes.end(), digest.begin());
    }
    for (const auto& [known, other] : table->tokens) {
      if (known == digest) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": the same token as ", other.name));
      }
    }
    table->tokens.emplace_back(digest, std::move(caller));
  }
  return std::shared_ptr<const Table>(std::move(table));
}

AccessControl::AccessControl(std::string path, absl::Duration refresh_interval, OnReload on_reload)
    : path_(std::move(path)),
      refresh_interval_(refresh_interval),
      on_reload_(std::move(on_reload)),
      instance_(next_instance.fetch_add(1)) {}

absl::StatusOr<std::unique_ptr<AccessControl>> AccessControl::Open(const std::string& path,
                                                                   absl::Duration refresh_interval,
                                                                   OnReload on_reload) {
  auto access =
      std::unique_ptr<AccessControl>(new AccessControl(path, refresh_interval, on_reload));
  if (absl::Status loaded = access->Load(); !loaded.ok()) return loaded;
  access->watcher_ = std::thread([raw = access.get()] { raw->WatchFile(); });
  return access;
}

AccessControl::~AccessControl() {
  stop_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

absl::Status AccessControl::Load() {
  struct stat status {};
  if (stat(path_.c_str(), &status) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--auth_tokens_file: cannot read ", path_));
  }
  seen_ = {status.st_mtim.tv_sec, status.st_mtim.tv_nsec, status.st_size,
           static_cast<int64_t>(status.st_ino)};
  std::ifstream in(path_, std::ios::binary);
  std::stringstream text;
  if (!in || !(text << in.rdbuf())) {
    return absl::InvalidArgumentError(absl::StrCat("--auth_tokens_file: cannot read ", path_));
  }
  auto table = Parse(text.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_tokens_file ", path_, ": ", table.status().message()));
  }
  const size_t callers = (*table)->tokens.size() + (*table)->certificate_names.size();
  {
    MutexLock lock(&mu_);
    table_ = *std::move(table);
  }
  generation_.fetch_add(1);
  if (on_reload_) on_reload_(callers);
  return absl::OkStatus();
}

void AccessControl::WatchFile() {
  while (!stop_.WaitForNotificationWithTimeout(refresh_interval_)) {
    struct stat status {};
    // Gone for a moment (a Secret's files are swapped by renaming a link):
    // the table in force stays, and the next look sees the new file.
    if (stat(path_.c_str(), &status) != 0) continue;
    const std::array<int64_t, 4> now = {status.st_mtim.tv_sec, status.st_mtim.tv_nsec,
                                        status.st_size, static_cast<int64_t>(status.st_ino)};
    if (now == seen_) continue;
    if (absl::Status loaded = Load(); !loaded.ok()) {
      seen_ = now;  // said once; the next change is read again
      if (on_reload_) on_reload_(loaded);
    }
  }
}

const AccessControl::Table& AccessControl::table() const {
  // Each thread keeps the table it saw last: no lock and no shared counter
  // touched per call, until the file is read again.
  struct Seen {
    uint64_t instance = 0;
    uint64_t generation = 0;
    std::shared_ptr<const Table> table;
  };
  thread_local Seen seen;
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (seen.instance != instance_ || seen.generation != generation) {
    MutexLock lock(&mu_);
    seen = {instance_, generation, table_};
  }
  return *seen.table;
}

absl::StatusOr<const Caller*> AccessControl::Authenticate(
    const grpc::ServerContextBase& context) const {
  const Table& table = this->table();
  const auto& metadata = context.client_metadata();
  const auto authorization = metadata.find("authorization");
  if (authorization != metadata.end()) {
    if (metadata.count("authorization") > 1) {
      return absl::UnauthenticatedError("more than one authorization metadata: send one token");
    }
    absl::string_view value(authorization->second.data(), authorization->second.size());
    if (!absl::ConsumePrefix(&value, "Bearer ") && !absl::ConsumePrefix(&value, "bearer ")) {
      return absl::UnauthenticatedError("the authorization metadata must be 'Bearer TOKEN'");
    }
    value = absl::StripAsciiWhitespace(value);
    if (value.empty()) return absl::UnauthenticatedError("the bearer token is empty");
    const Digest digest = Sha256(value);
    const Caller* found = nullptr;
    for (const auto& [known, caller] : table.tokens) {
      if (CRYPTO_memcmp(known.data(), digest.data(), digest.size()) == 0) found = &caller;
    }
    if (found == nullptr) return absl::UnauthenticatedError("the bearer token is not known");
    return found;
  }
  for (const std::string& name : PeerIdentities(context)) {
    const auto found = table.certificate_names.find(name);
    if (found != table.certificate_names.end()) return &found->second;
  }
  return absl::UnauthenticatedError(
      "no credentials: send 'authorization: Bearer TOKEN' metadata, or connect with a client "
      "certificate the server knows");
}

absl::StatusOr<const Caller*> AccessControl::Check(const grpc::ServerContextBase& context,
                                                   Rpc rpc, absl::string_view job_id) const {
  auto authenticated = Authenticate(context);
  if (!authenticated.ok()) return authenticated;
  const Caller* caller = *authenticated;
  if (!RoleAllows(caller->role, rpc)) {
    return absl::PermissionDeniedError(absl::StrCat(caller->name, " (role ", RoleName(caller->role),
                                                    ") may not call ", RpcName(rpc)));
  }
  if (JobScoped(rpc) && !absl::StartsWith(job_id, caller->job_prefix)) {
    return absl::PermissionDeniedError(absl::StrCat(caller->name,
                                                    " may reach only the jobs whose id starts "
                                                    "with '",
                                                    caller->job_prefix, "'"));
  }
  return caller;
}

}  // namespace lrsched
