#include "tests/testing/small_disk.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"

namespace lrsched::testing {

SmallDisk::SmallDisk(const std::string& size) {
  char pattern[] = "/tmp/lrsched-small-disk-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    why_ = std::strerror(errno);
    return;
  }
  path_ = pattern;
  if (mount("lrsched-test", pattern, "tmpfs", 0, ("size=" + size).c_str()) != 0) {
    why_ = std::string("cannot mount a ") + size + " tmpfs to fill (" + std::strerror(errno) +
           "): this test needs root or CAP_SYS_ADMIN";
    return;
  }
  mounted_ = true;
}

SmallDisk::~SmallDisk() {
  if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

void SmallDisk::Fill(off_t slack) {
  const std::string filler = (path_ / "filler").string();
  const int fd = open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const std::string chunk(64 * 1024, 'x');
  off_t size = 0;
  ssize_t written;
  while ((written = write(fd, chunk.data(), chunk.size())) > 0) size += written;
  EXPECT_EQ(errno, ENOSPC);
  ASSERT_EQ(ftruncate(fd, size > slack ? size - slack : 0), 0);
  close(fd);
}

void SmallDisk::MakeRoom() { ASSERT_EQ(unlink((path_ / "filler").c_str()), 0); }

}  // namespace lrsched::testing
