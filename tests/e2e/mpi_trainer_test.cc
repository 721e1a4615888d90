// lrsched-trainer under mpirun against a real lrsched-server: the ranks end
// with bitwise identical weights, train with the very rates PreviewSchedule
// gives for the metrics the server aggregated, the loss falls and the rate is
// reduced where PyTorch's rule says; with per-rank local schedulers the ranks
// disagree.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lrsched/client.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace lrsched {
namespace {

namespace fs = std::filesystem;
using ::lrsched::testing::ServerProcess;

constexpr char kPlateau[] = R"({"reduce_lr_on_plateau": {"patience": 1, "factor": 0.5}})";

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

class MpiTrainerTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/lrsched-mpi-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
    // mpirun refuses root without these; CI runs as root.
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    // Under AddressSanitizer, OpenMPI's own allocations kept until exit are
    // not lrsched's leaks.
    setenv("ASAN_OPTIONS", "detect_leaks=0", 0);
  }
  void TearDown() override { fs::remove_all(directory_); }

  // Runs the trainer on `ranks` processes; returns its exit status.
  int Train(int ranks, const std::vector<std::string>& flags) {
    const std::string command = absl::StrCat(
        MPIEXEC, " --oversubscribe --bind-to none -np ", ranks, " ", LRSCHED_TRAINER_BINARY, " ",
        absl::StrJoin(flags, " "), " > ", (directory_ / "out.txt").string(), " 2>&1");
    const int status = std::system(command.c_str());
    if (status != 0) ADD_FAILURE() << Read(directory_ / "out.txt");
    return status;
  }

  fs::path directory_;
};

TEST_P(MpiTrainerTest, RanksAgreeBitForBitAndFollowTheServersSchedule) {
  const int ranks = GetParam();
  ServerProcess server(LRSCHED_SERVER_BINARY, {"--listen=127.0.0.1:0", "--state=:memory:"});
  ASSERT_GT(server.port(), 0);
  const std::string address = absl::StrCat("127.0.0.1:", server.port());
  const std::string prefix = (directory_ / "run").string();
  ASSERT_EQ(Train(ranks, {"--server=" + address, "--job=e2e", absl::StrCat("'--spec=", kPlateau, "'"),
                          "--epochs=20", "--noise=4", "--samples=3000",
                          "--trace_out=" + prefix, "--weights_out=" + prefix,
                          "--log_csv=" + prefix + ".log.csv"}),
            0);

  // Bitwise identical weights and rates on every rank.
  const std::string weights = Read(prefix + ".rank0.bin");
  const std::string trace = Read(prefix + ".rank0.csv");
  ASSERT_FALSE(weights.empty());
  for (int rank = 1; rank < ranks; ++rank) {
    EXPECT_EQ(Read(absl::StrCat(prefix, ".rank", rank, ".bin")), weights) << "rank " << rank;
    EXPECT_EQ(Read(absl::StrCat(prefix, ".rank", rank, ".csv")), trace) << "rank " << rank;
  }

  // The rates equal PreviewSchedule fed the metrics the server aggregated.
  ClientOptions options;
  options.target = address;
  Client client(options);
  auto job = client.GetJob("e2e");
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_GE(job->metric_history_size(), 19);
  v1::PreviewScheduleRequest preview;
  *preview.mutable_spec() = job->spec();
  *preview.mutable_base_lrs() = job->base_lrs();
  preview.set_steps(19);
  for (int epoch = 0; epoch < 19; ++epoch) preview.add_metrics(job->metric_history(epoch).value());
  auto expected = client.PreviewSchedule(preview);
  ASSERT_TRUE(expected.ok()) << expected.status();
  int epoch = 0;
  int reductions = 0;
  for (absl::string_view line : absl::StrSplit(trace, '\n', absl::SkipEmpty())) {
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    ASSERT_EQ(fields.size(), 1 + static_cast<size_t>(job->base_lrs_size()));
    for (int g = 0; g < job->base_lrs_size(); ++g) {
      EXPECT_EQ(std::strtod(fields[1 + g].c_str(), nullptr), expected->values(epoch).lrs(g))
          << "epoch " << epoch << " group " << g;
    }
    if (epoch > 0) reductions += job->metric_history(epoch - 1).reduced();
    ++epoch;
  }
  EXPECT_EQ(epoch, 20);
  EXPECT_GE(reductions, 1) << "ReduceLROnPlateau should have reduced the rate";

  // The training loss falls.
  std::vector<double> losses;
  for (absl::string_view line : absl::StrSplit(Read(prefix + ".log.csv"), '\n', absl::SkipEmpty())) {
    double loss;
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (absl::SimpleAtod(fields[1], &loss)) losses.push_back(loss);
  }
  ASSERT_EQ(losses.size(), 20u);
  EXPECT_LT(losses.back(), losses.front());
}

INSTANTIATE_TEST_SUITE_P(Ranks, MpiTrainerTest, ::testing::Values(2, 3));

TEST_F(MpiTrainerTest, LocalSchedulersMakeTheRanksDisagree) {
  // The problem lrsched solves: each rank reduces on its own validation shard.
  const std::string prefix = (directory_ / "local").string();
  ASSERT_EQ(Train(2, {"--scheduler=local", absl::StrCat("'--spec=", kPlateau, "'"),
                      "--epochs=20", "--noise=4", "--samples=2048", "--trace_out=" + prefix,
                      "--weights_out=" + prefix}),
            0);
  EXPECT_NE(Read(prefix + ".rank0.csv"), Read(prefix + ".rank1.csv"));
  EXPECT_NE(Read(prefix + ".rank0.bin"), Read(prefix + ".rank1.bin"));
}

}  // namespace
}  // namespace lrsched
