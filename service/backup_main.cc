// lrsched-backup: a consistent copy of a state file, while its server runs.
//
// A binary of its own rather than a mode of lrsched-server: it shares none
// of the server's flags, links only the store (no gRPC), and runs beside a
// server that holds the state file's lock (kubectl exec into the server's
// container, a cron job on the same volume), which a second lrsched-server
// process could not.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/common/command_line.h"
#include "service/store/state_backup.h"

ABSL_FLAG(std::string, state, "lrsched-state.db",
          "The state file to copy, of a running server or not. Env LRSCHED_STATE, as for "
          "lrsched-server.");
ABSL_FLAG(std::string, out, "",
          "Where to write the copy: a file that does not exist yet (never overwritten). A "
          "server started with --state=OUT has every job as it was when the copy began.");

int main(int argc, char** argv) {
  if (lrsched::HandledHelp(
          argc, argv,
          "lrsched-backup: a consistent copy of lrsched-server's state file, also while the\n"
          "server runs.\n\n"
          "  lrsched-backup --state=state.db --out=state-backup.db\n\n"
          "Restore: stop the server, put the copy where --state points (and remove the old\n"
          "STATE-wal and STATE-shm if they are there), start the server.",
          "service/backup_main.cc")) {
    return 0;
  }
  if (const char* state = std::getenv("LRSCHED_STATE"); state != nullptr) {
    absl::SetFlag(&FLAGS_state, state);
  }
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "lrsched-backup: unexpected argument %s; see --help\n", positional[1]);
    return 2;
  }
  const std::string state = absl::GetFlag(FLAGS_state);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::fprintf(stderr, "lrsched-backup: --out=PATH is required; see --help\n");
    return 2;
  }
  const absl::Time start = absl::Now();
  const absl::StatusOr<int64_t> bytes = lrsched::BackupStateFile(state, out);
  if (!bytes.ok()) {
    std::fprintf(stderr, "lrsched-backup: %s\n", bytes.status().ToString().c_str());
    return 1;
  }
  std::printf("lrsched-backup: copied %s to %s (%lld bytes) in %s\n", state.c_str(), out.c_str(),
              static_cast<long long>(*bytes), absl::FormatDuration(absl::Now() - start).c_str());
  return 0;
}
