#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace lrsched::testing {

ServerProcess::ServerProcess(const std::string& binary, std::vector<std::string> args,
                             const std::string& stderr_path)
    : args_(std::move(args)) {
  // Everything the child needs is built before fork: it may not allocate.
  std::string program = binary;
  std::vector<char*> argv{program.data()};
  for (auto& arg : args_) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe(out) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    // A test or benchmark that dies must not leave its server behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out[1], STDOUT_FILENO);
    if (!stderr_path.empty()) {
      const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err >= 0) dup2(err, STDERR_FILENO);
    }
    close(out[0]);
    close(out[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  output_ = fdopen(out[0], "r");
  char line[1024];
  if (fgets(line, sizeof line, output_) != nullptr) {
    const std::string text = line;
    const auto at = text.find("(port ");
    if (at != std::string::npos) {
      absl::SimpleAtoi(text.substr(at + 6, text.find(')', at) - at - 6), &port_);
    }
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (output_ != nullptr) fclose(output_);
}

void ServerProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int ServerProcess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return -1;
}

}  // namespace lrsched::testing
