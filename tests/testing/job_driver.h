// Drives a Job with the calls its workers and operators make (Step,
// ReportMetric, SetLearningRate, SetWorldSize, GetJob), each picked by a
// Choices: a seeded random generator for the replay property test, the bytes
// of an input for the job fuzzer. The same choices drive the same calls.
//
// Without GoogleTest, so that a fuzz target can link it.
//
// Not thread-safe.
#ifndef LRSCHED_TESTS_TESTING_JOB_DRIVER_H_
#define LRSCHED_TESTS_TESTING_JOB_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "google/protobuf/message.h"
#include "lrsched/v1/job.pb.h"
#include "service/job/job.h"

namespace lrsched::testing {

// One spec of every family and composite the service offers, as JSON.
absl::Span<const char* const> DriverSpecs();

// Where a JobDriver's decisions come from.
class Choices {
 public:
  virtual ~Choices() = default;
  // A value in [low, high]; low when high < low.
  virtual int64_t Pick(int64_t low, int64_t high) = 0;
  // True once the choices have run out: every later Pick returns low.
  virtual bool exhausted() const = 0;
};

// Uniform picks from a seeded Mersenne twister; never runs out.
class RandomChoices final : public Choices {
 public:
  explicit RandomChoices(uint64_t seed) : random_(seed) {}
  int64_t Pick(int64_t low, int64_t high) override;
  bool exhausted() const override { return false; }

 private:
  std::mt19937_64 random_;
};

// Picks read from a byte string, as few bytes per pick as its range needs, so
// that a fuzzer's byte mutations become small changes of single calls.
class ByteChoices final : public Choices {
 public:
  // `bytes` must outlive the ByteChoices.
  explicit ByteChoices(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}
  int64_t Pick(int64_t low, int64_t high) override;
  bool exhausted() const override { return bytes_.empty(); }

 private:
  absl::Span<const uint8_t> bytes_;
};

// Every value any answer stated, by step. A second, different statement of a
// step's values is a conflict: it breaks the one-value-per-step guarantee.
class StatedValues {
 public:
  void Lrs(int64_t step, const google::protobuf::RepeatedField<double>& lrs,
           const std::string& where);
  void Values(const v1::StepValues& values, const std::string& where);

  // One line per conflict, naming both statements; empty if there was none.
  const std::vector<std::string>& conflicts() const { return conflicts_; }

 private:
  using Seen = std::map<int64_t, std::pair<std::vector<double>, std::string>>;
  void Check(Seen& seen, int64_t step, const std::vector<double>& values,
             const std::string& where);

  Seen lrs_;
  Seen momentums_;
  std::vector<std::string> conflicts_;
};

class JobDriver {
 public:
  // Ranks and world sizes stay below `max_world`. `choices` must outlive the
  // driver.
  JobDriver(Choices& choices, int max_world) : choices_(choices), max_world_(max_world) {}
  // Goes on driving the job (or its replay) that `earlier` drove.
  JobDriver(Choices& choices, int max_world, const JobDriver& earlier)
      : choices_(choices), max_world_(max_world), asked_(earlier.asked_) {}

  // Runs one call on `job`, records the values it stated in `stated`, and
  // returns a record of the call and its answer: equal records are equal
  // answers.
  std::string Operate(Job& job, StatedValues& stated);

  // One line per Step refused as before the retained window although its
  // rank had neither asked for nor reported a later step: the window must
  // follow the slowest rank.
  const std::vector<std::string>& evictions() const { return evictions_; }

 private:
  int64_t Pick(int64_t low, int64_t high) { return choices_.Pick(low, high); }

  Choices& choices_;
  const int max_world_;
  // Per rank, the furthest step it asked for or reported; ranks that joined
  // later start at the first step retained when they did.
  std::vector<int64_t> asked_;
  std::vector<std::string> evictions_;
};

// A message's bytes, serialized deterministically: equal bytes are equal
// bits, NaN included.
std::string DeterministicBytes(const google::protobuf::Message& message);

// Every event the job kept, from its creation on.
absl::StatusOr<std::vector<v1::JobEvent>> AllEvents(const Job& job);

// The invariants of DESIGN.md that a single job must keep, checked on one
// history: a job created from `created` is driven by up to `operations` calls
// picked by `history` (and then deleted, one time in ten); its events are
// replayed into a fresh job, whose view must equal the live one's; then, unless
// deleted, both jobs take the same `continuation_operations` further calls,
// picked by `continuation` and by `replayed_continuation` (which must make the
// same picks), and must answer alike and log the same events. No value is
// stated twice differently anywhere. INTERNAL naming the first difference,
// with the calls that led to it.
absl::Status CheckReplayEqualsLive(const v1::JobCreated& created, const JobOptions& options,
                                   int max_world, int operations, Choices& history,
                                   int continuation_operations, Choices& continuation,
                                   Choices& replayed_continuation);

}  // namespace lrsched::testing

#endif  // LRSCHED_TESTS_TESTING_JOB_DRIVER_H_
