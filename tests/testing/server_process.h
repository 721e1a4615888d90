// lrsched-server as a real child process: started with given flags, its port
// read from the line it prints, stopped by a signal of the test's choice.
#ifndef LRSCHED_TESTS_TESTING_SERVER_PROCESS_H_
#define LRSCHED_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace lrsched::testing {

class ServerProcess {
 public:
  // Starts `binary` with `args` and waits for the line with its port (or
  // its exit). Its stderr goes to `stderr_path` when given, else the test's.
  ServerProcess(const std::string& binary, std::vector<std::string> args,
                const std::string& stderr_path = "");
  // Kills the process if it is still running.
  ~ServerProcess();

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // 0 if the server did not start.
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  void Signal(int signal);
  // Waits for the process to exit; returns its exit status (128 + signal if
  // killed), or -1 if it did not exit within `timeout`.
  int WaitForExit(absl::Duration timeout);

 private:
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  FILE* output_ = nullptr;
  int port_ = 0;
  bool exited_ = false;
};

}  // namespace lrsched::testing

#endif  // LRSCHED_TESTS_TESTING_SERVER_PROCESS_H_
