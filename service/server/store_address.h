// Where the server keeps its jobs, as --store names it:
//   sqlite:PATH                                   one SQLite file (":memory:": nowhere)
//   etcd://HOST:PORT[,HOST:PORT...][/PREFIX]      an etcd v3 cluster, keys under /PREFIX/
#ifndef LRSCHED_SERVICE_SERVER_STORE_ADDRESS_H_
#define LRSCHED_SERVICE_SERVER_STORE_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/store/etcd_event_store.h"

namespace lrsched {

struct StoreAddress {
  enum class Kind { kSqlite, kEtcd };
  Kind kind = Kind::kSqlite;
  std::string sqlite_path;
  // Endpoints and prefix; the other fields keep their defaults.
  EtcdStoreOptions etcd;
};

// INVALID_ARGUMENT naming the rule the value breaks. An etcd address without
// a prefix keeps its keys under /lrsched/.
absl::StatusOr<StoreAddress> ParseStoreAddress(absl::string_view address);

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SERVER_STORE_ADDRESS_H_
