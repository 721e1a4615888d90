// lrsched-trainer: data-parallel mini-batch training with Eigen, one MPI
// process per worker, taking each epoch's learning rates from lrsched.
//
//   mpirun -np 4 lrsched-trainer --server=localhost:50051 --job=demo
//       --spec='{"reduce_lr_on_plateau": {"patience": 2}}' --epochs=30
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "lrsched/client.h"
#include "service/common/command_line.h"
#include "service/common/shortest_double.h"
#include "service/schedule/schedule.h"
#include "trainer/dataset.h"
#include "trainer/learning_rate_source.h"
#include "trainer/model.h"
#include "trainer/mpi_communicator.h"
#include "trainer/optimizer.h"
#include "trainer/trainer.h"

ABSL_FLAG(std::string, server, "localhost:50051", "The lrsched server.");
ABSL_FLAG(std::string, tls_ca_file, "",
          "Connect with TLS, verifying the server with these PEM roots. Env LRSCHED_TLS_CA_FILE.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate of this worker, for a server that requires mutual TLS. Env "
          "LRSCHED_TLS_CERT_FILE.");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of --tls_cert_file. Env LRSCHED_TLS_KEY_FILE.");
ABSL_FLAG(std::string, token_file, "",
          "A file holding this job's bearer token, for a server with --auth_tokens_file. Env "
          "LRSCHED_TOKEN_FILE.");
ABSL_FLAG(std::string, tls_server_name, "",
          "The name to verify in the server's certificate. Env LRSCHED_TLS_SERVER_NAME.");
ABSL_FLAG(std::string, job, "train", "The job id; created (idempotently) by every rank.");
ABSL_FLAG(std::string, spec, R"({"reduce_lr_on_plateau": {"patience": 2, "factor": 0.5}})",
          "The SchedulerSpec in proto3 JSON form.");
ABSL_FLAG(std::string, scheduler, "service",
          "service: every rank takes its rates from lrsched; local: each rank runs the "
          "schedule itself on its own validation loss (ranks then disagree).");
ABSL_FLAG(int64_t, max_look_ahead, 0,
          "CreateJob's max_look_ahead: the most steps past the one asked for that leave the "
          "server at a time (0: as many as asked). Smaller: an operator's override takes effect "
          "sooner; larger: fewer Step calls.");
ABSL_FLAG(double, base_lr, 0.1, "The optimizer's learning rate of every parameter group.");
ABSL_FLAG(std::string, solver, "momentum", "sgd, momentum or adam.");
ABSL_FLAG(double, momentum, 0.9, "SGD's momentum or Adam's beta1 when the schedule sets none.");
ABSL_FLAG(int, epochs, 20, "Epochs (one scheduler step each).");
ABSL_FLAG(int, batch_size, 64, "Examples per batch on each rank.");
ABSL_FLAG(int, hidden, 32, "Hidden units (0: softmax regression).");
ABSL_FLAG(int64_t, samples, 8192, "Synthetic examples in all.");
ABSL_FLAG(int, dimension, 16, "Synthetic features per example.");
ABSL_FLAG(int, classes, 4, "Synthetic classes.");
ABSL_FLAG(double, noise, 3.0, "Synthetic noise (larger is harder).");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the data and of the initial weights.");
ABSL_FLAG(std::string, csv, "", "Train on this CSV (features..., class) instead.");
ABSL_FLAG(double, validation_fraction, 0.2, "Share of the examples kept for validation.");
ABSL_FLAG(std::string, log_csv, "", "Rank 0 writes one line per epoch here.");
ABSL_FLAG(std::string, trace_out, "",
          "Each rank writes PREFIX.rank<r>.csv: the rates it trained each epoch with.");
ABSL_FLAG(std::string, weights_out, "", "Each rank writes PREFIX.rank<r>.bin: its final weights.");

namespace lrsched::trainer {
namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "lrsched-trainer: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

int Main(const MpiCommunicator& mpi) {
  Dataset data;
  if (absl::GetFlag(FLAGS_csv).empty()) {
    SyntheticOptions synthetic;
    synthetic.size = absl::GetFlag(FLAGS_samples);
    synthetic.dimension = absl::GetFlag(FLAGS_dimension);
    synthetic.num_classes = absl::GetFlag(FLAGS_classes);
    synthetic.noise = absl::GetFlag(FLAGS_noise);
    synthetic.seed = absl::GetFlag(FLAGS_seed);
    data = MakeSynthetic(synthetic);
  } else {
    auto loaded = LoadCsv(absl::GetFlag(FLAGS_csv));
    if (!loaded.ok()) return Fail("--csv", loaded.status());
    data = *std::move(loaded);
  }
  const Split split = SplitValidation(data, absl::GetFlag(FLAGS_validation_fraction));
  const Mlp model({static_cast<int>(data.features.cols()), absl::GetFlag(FLAGS_hidden),
                   data.num_classes});

  v1::SchedulerSpec spec;
  if (!google::protobuf::util::JsonStringToMessage(absl::GetFlag(FLAGS_spec), &spec).ok()) {
    return Fail("--spec", absl::InvalidArgumentError("not a SchedulerSpec in JSON"));
  }
  const std::vector<double> base_lrs(model.groups().size(), absl::GetFlag(FLAGS_base_lr));
  std::unique_ptr<Client> client;
  std::unique_ptr<LearningRateSource> rates;
  auto schedule = Schedule::Create(spec, base_lrs);
  if (!schedule.ok()) return Fail("--spec", schedule.status());
  const bool takes_metric = schedule->takes_metric();
  if (absl::GetFlag(FLAGS_scheduler) == "local") {
    rates = std::make_unique<LocalLearningRateSource>(*std::move(schedule));
  } else {
    ClientOptions options;
    options.target = absl::GetFlag(FLAGS_server);
    ClientTls tls;
    tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
    tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
    tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
    tls.server_name = absl::GetFlag(FLAGS_tls_server_name);
    tls.DefaultFromEnvironment();
    if (tls.enabled()) {
      if (absl::Status used = UseTls(tls, &options); !used.ok()) return Fail("TLS", used);
    }
    if (absl::Status used = UseTokenFile(absl::GetFlag(FLAGS_token_file), &options);
        !used.ok()) {
      return Fail("--token_file", used);
    }
    client = std::make_unique<Client>(options);
    v1::CreateJobRequest create;
    create.set_job_id(absl::GetFlag(FLAGS_job));
    *create.mutable_spec() = spec;
    for (double lr : base_lrs) create.add_base_lrs(lr);
    create.set_world_size(mpi.size());
    create.set_max_look_ahead(absl::GetFlag(FLAGS_max_look_ahead));
    if (auto job = client->CreateJob(create); !job.ok()) return Fail("CreateJob", job.status());
    rates = std::make_unique<ServiceLearningRateSource>(*client, absl::GetFlag(FLAGS_job),
                                                        mpi.rank(), takes_metric);
  }

  SolverOptions solver;
  const std::string solver_name = absl::GetFlag(FLAGS_solver);
  solver.solver = solver_name == "sgd"  ? Solver::kSgd
                  : solver_name == "adam" ? Solver::kAdam
                                          : Solver::kMomentum;
  solver.momentum = absl::GetFlag(FLAGS_momentum);
  Optimizer optimizer(solver, model.groups(), model.num_parameters());
  TrainerOptions options;
  options.epochs = absl::GetFlag(FLAGS_epochs);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.seed = absl::GetFlag(FLAGS_seed);
  const Eigen::Index min_train = split.train.size() / mpi.size();
  Trainer trainer(mpi, model, optimizer, *rates, Shard(split.train, mpi.rank(), mpi.size()),
                  Shard(split.validation, mpi.rank(), mpi.size()), min_train, options);

  std::ofstream log, trace;
  if (mpi.rank() == 0 && !absl::GetFlag(FLAGS_log_csv).empty()) {
    log.open(absl::GetFlag(FLAGS_log_csv));
    log << "epoch,train_loss,validation_loss,validation_accuracy,lr,samples_per_second,reduced\n";
  }
  if (!absl::GetFlag(FLAGS_trace_out).empty()) {
    trace.open(absl::StrCat(absl::GetFlag(FLAGS_trace_out), ".rank", mpi.rank(), ".csv"));
  }
  // Reductions worth a mark are ReduceLROnPlateau's decisions; a cosine
  // schedule falls every epoch by design.
  int reductions = 0;
  EpochResult last;
  std::vector<std::string> changes;  // "epoch 8: 0.05", whenever group 0's rate changes
  const absl::Status status = trainer.Run([&](const EpochResult& epoch) {
    const bool reduced = takes_metric && epoch.reduced;
    reductions += reduced;
    if (epoch.epoch == 0 || epoch.rates.lrs[0] != last.rates.lrs[0]) {
      changes.push_back(absl::StrCat(epoch.epoch, ": ", ShortestDouble(epoch.rates.lrs[0])));
    }
    last = epoch;
    if (trace.is_open()) {
      trace << epoch.epoch;
      for (double lr : epoch.rates.lrs) trace << absl::StrFormat(",%a", lr);
      for (double m : epoch.rates.momentums) trace << absl::StrFormat(",%a", m);
      trace << "\n";
    }
    if (mpi.rank() != 0) return;
    std::printf(
        "epoch %3d  train loss %.4f  val loss %.4f  val acc %5.1f%%  lr %-12s %9.0f samples/s%s\n",
        epoch.epoch, epoch.train_loss, epoch.validation_loss, 100 * epoch.validation_accuracy,
        ShortestDouble(epoch.rates.lrs[0]).c_str(), epoch.samples_per_second,
        reduced ? "  <- lrsched reduced the rate" : "");
    std::fflush(stdout);
    if (log.is_open()) {
      log << absl::StrFormat("%d,%.6f,%.6f,%.6f,%s,%.0f,%d\n", epoch.epoch, epoch.train_loss,
                             epoch.validation_loss, epoch.validation_accuracy,
                             ShortestDouble(epoch.rates.lrs[0]), epoch.samples_per_second, reduced);
    }
  });
  if (!status.ok()) return Fail("training", status);
  if (!absl::GetFlag(FLAGS_weights_out).empty()) {
    std::ofstream weights(absl::StrCat(absl::GetFlag(FLAGS_weights_out), ".rank", mpi.rank(), ".bin"),
                          std::ios::binary);
    weights.write(reinterpret_cast<const char*>(trainer.parameters().data()),
                  static_cast<std::streamsize>(trainer.parameters().size() * sizeof(double)));
  }
  if (mpi.rank() == 0) {
    std::printf("learning rate by epoch (where it changed): %s\n",
                absl::StrJoin(changes, ", ").c_str());
    const auto count = [](int64_t n, const char* one, const char* many) {
      return absl::StrCat(n, " ", n == 1 ? one : many);
    };
    std::printf("done: %s on %s, final val acc %.1f%%, %s by ReduceLROnPlateau, %s by rank 0 "
                "(%.2f per epoch)\n",
                count(options.epochs, "epoch", "epochs").c_str(),
                count(mpi.size(), "rank", "ranks").c_str(), 100 * last.validation_accuracy,
                count(reductions, "reduction", "reductions").c_str(),
                count(rates->step_rpcs(), "Step RPC", "Step RPCs").c_str(),
                static_cast<double>(rates->step_rpcs()) / std::max(1, options.epochs));
  }
  return 0;
}

}  // namespace
}  // namespace lrsched::trainer

int main(int argc, char** argv) {
  if (lrsched::HandledHelp(
          argc, argv,
          "lrsched-trainer: data-parallel training with Eigen over MPI, one process per\n"
          "worker, each epoch's learning rates from lrsched (or --scheduler=local).\n\n"
          "  mpirun -np 4 lrsched-trainer --server=HOST:PORT --job=JOB --spec=JSON [FLAGS]",
          "trainer/main.cc")) {
    return 0;
  }
  lrsched::trainer::MpiCommunicator mpi(&argc, &argv);
  absl::ParseCommandLine(argc, argv);
  return lrsched::trainer::Main(mpi);
}
