// A directory of the test's own under /tmp, removed with everything in it
// when the object goes.
#ifndef LRSCHED_TESTS_TESTING_TEMP_DIRECTORY_H_
#define LRSCHED_TESTS_TESTING_TEMP_DIRECTORY_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace lrsched::testing {

class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = "/tmp/lrsched-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    path_ = pattern;
  }
  ~TempDirectory() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A file's path inside it.
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace lrsched::testing

#endif  // LRSCHED_TESTS_TESTING_TEMP_DIRECTORY_H_
