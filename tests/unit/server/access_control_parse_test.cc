// The callers file as AccessControl reads it: what it takes, and every kind
// of wrong file refused with a message naming the entry and the rule,
// never an exception (a file changed under a running server is read on a
// thread of its own, where one would end the process).
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/server/access_control.h"
#include "tests/testing/status_matchers.h"

namespace lrsched {
namespace {

using ::lrsched::testing::IsOk;
using ::lrsched::testing::StatusIs;
using ::testing::HasSubstr;

TEST(AccessControlParseTest, TakesCallersOfEveryKind) {
  EXPECT_THAT(
      AccessControl::Parse(R"(callers:
  - {name: ops, role: operator, token: operator-token-0123456789}
  - {name: team-a, role: worker, job_prefix: team-a-, token_sha256: )"
                           "5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8"
                           R"(}
  - {name: alice, role: viewer, certificate_name: 'spiffe://example.org/alice'}
)"),
      IsOk());
}

TEST(AccessControlParseTest, EveryWrongFileIsRefusedWithItsRule) {
  const struct {
    std::string text;
    std::string says;
  } cases[] = {
      {"", "a list of callers"},
      {"[1, 2]", "a list of callers"},
      {"callers: {a: b}", "a list of callers"},
      {"callers:\n  - 7\n", "callers[0]: not a map"},
      {"callers:\n  - {[a]: b}\n", "callers[0]: a key that is not a name"},
      {"callers:\n  - {{a: b}: c}\n", "callers[0]: a key that is not a name"},
      {"callers:\n  - {name: [x], role: worker}\n", "callers[0].name: not a string"},
      {"callers:\n  - {name: x, role: root, token: 0123456789abcdef}\n",
       "callers[0].role: must be worker, viewer or operator"},
      {"callers:\n  - {name: x, role: worker, token: short}\n", "at least 16 characters"},
      {"callers:\n  - {name: x, role: worker, token_sha256: abc}\n", "64 hexadecimal digits"},
      {"callers:\n  - {name: x, role: worker}\n", "exactly one of token"},
      {"callers:\n  - {name: x, role: worker, job_prefix: a/, token: 0123456789abcdef}\n",
       "holds a character no job id has"},
      {"callers:\n  - {name: x, role: worker, color: red, token: 0123456789abcdef}\n",
       "unknown field color"},
      {"callers:\n  - {name: x, role: worker, token: 0123456789abcdef}\n"
       "  - {name: x, role: viewer, token: fedcba9876543210}\n",
       "names another caller too"},
      {"callers:\n  - {name: x, role: worker, token: 0123456789abcdef}\n"
       "  - {name: y, role: viewer, token: 0123456789abcdef}\n",
       "the same token as x"},
      {"callers: [\n", "not a callers file"},
  };
  for (const auto& refused : cases) {
    EXPECT_THAT(AccessControl::Parse(refused.text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(refused.says)))
        << refused.text;
  }
}

}  // namespace
}  // namespace lrsched
