// A small file system of a test's own, to fill up: a tmpfs mounted on a new
// temporary directory. Mounting needs root (or CAP_SYS_ADMIN); a test skips
// where it cannot.
#ifndef LRSCHED_TESTS_TESTING_SMALL_DISK_H_
#define LRSCHED_TESTS_TESTING_SMALL_DISK_H_

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace lrsched::testing {

class SmallDisk {
 public:
  // Mounts a tmpfs of `size` (as mount(8) takes it, e.g. "4m"). Check
  // mounted(); why() says why not.
  explicit SmallDisk(const std::string& size);
  // Unmounts and removes the directory.
  ~SmallDisk();
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::filesystem::path& path() const { return path_; }

  // Fills the file system but for about `slack` bytes, with a file of its
  // own that MakeRoom() removes again.
  void Fill(off_t slack = 0);
  void MakeRoom();

 private:
  std::filesystem::path path_;
  bool mounted_ = false;
  std::string why_;
};

}  // namespace lrsched::testing

#endif  // LRSCHED_TESTS_TESTING_SMALL_DISK_H_
