#include "service/store/state_file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace lrsched {
namespace {

// Who holds the lock, from what the holder wrote into the lock file. Empty
// between the holder's flock and its write.
std::string Holder(int fd) {
  char text[256] = {};
  const ssize_t length = pread(fd, text, sizeof text - 1, 0);
  if (length <= 0) return "";
  const std::string holder(absl::StripAsciiWhitespace(absl::string_view(text, length)));
  const size_t space = holder.find(' ');
  if (space == std::string::npos) return absl::StrCat("pid ", holder);
  return absl::StrCat("pid ", holder.substr(0, space), " on host ", holder.substr(space + 1));
}

std::string Identity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return absl::StrCat(getpid(), " ", host, "\n");
}

}  // namespace

absl::StatusOr<StateFileLock> StateFileLock::Acquire(const std::string& state_path) {
  const std::string path = LockPath(state_path);
  // Never O_TRUNC: that would erase the holder's name before we know whether
  // we are the holder. O_CLOEXEC: a child the server starts must not inherit
  // the lock and keep it past the server's death.
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    const std::string message = absl::StrCat("cannot open its lock file ", path, ": ",
                                             std::strerror(errno));
    return errno == EACCES || errno == EROFS ? absl::PermissionDeniedError(message)
                                             : absl::InternalError(message);
  }
  int locked;
  do {
    locked = flock(fd, LOCK_EX | LOCK_NB);
  } while (locked != 0 && errno == EINTR);
  if (locked != 0) {
    const int error = errno;
    const std::string holder = Holder(fd);
    close(fd);
    if (error != EWOULDBLOCK) {
      return absl::InternalError(
          absl::StrCat("cannot lock its lock file ", path, ": ", std::strerror(error)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "in use by another process (", holder.empty() ? "pid not written yet" : holder,
        "), which holds its lock file ", path,
        "; one server per state file: stop that one first, or choose another --state"));
  }
  const std::string identity = Identity();
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, identity.data(), identity.size(), 0) != static_cast<ssize_t>(identity.size())) {
    const std::string message = std::strerror(errno);
    close(fd);
    return absl::InternalError(absl::StrCat("cannot write its lock file ", path, ": ", message));
  }
  return StateFileLock(fd);
}

StateFileLock::StateFileLock(StateFileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

StateFileLock& StateFileLock::operator=(StateFileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

StateFileLock::~StateFileLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace lrsched
