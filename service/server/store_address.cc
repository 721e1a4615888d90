#include "service/server/store_address.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace lrsched {
namespace {

absl::Status Invalid(absl::string_view address, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(
      "--store=", address, ": ", rule,
      " (sqlite:PATH or etcd://HOST:PORT[,HOST:PORT...][/PREFIX])"));
}

}  // namespace

absl::StatusOr<StoreAddress> ParseStoreAddress(absl::string_view address) {
  StoreAddress parsed;
  absl::string_view rest = address;
  if (absl::ConsumePrefix(&rest, "sqlite:")) {
    if (rest.empty()) return Invalid(address, "the SQLite file is missing");
    parsed.sqlite_path = std::string(rest);
    return parsed;
  }
  if (!absl::ConsumePrefix(&rest, "etcd://")) {
    return Invalid(address, "unknown kind of store");
  }
  parsed.kind = StoreAddress::Kind::kEtcd;
  const size_t slash = rest.find('/');
  const absl::string_view hosts = rest.substr(0, slash);
  absl::string_view prefix = slash == absl::string_view::npos ? "" : rest.substr(slash);
  for (absl::string_view endpoint : absl::StrSplit(hosts, ',')) {
    const size_t colon = endpoint.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return Invalid(address, absl::StrCat("endpoint '", endpoint, "' is not HOST:PORT"));
    }
    parsed.etcd.endpoints.emplace_back(endpoint);
  }
  while (absl::ConsumeSuffix(&prefix, "/")) {
  }
  if (!prefix.empty()) {
    if (absl::StrContains(prefix, "//")) return Invalid(address, "the prefix has an empty part");
    parsed.etcd.prefix = absl::StrCat(prefix, "/");
  }
  return parsed;
}

}  // namespace lrsched
