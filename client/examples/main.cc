// The smallest trainer loop against lrsched: create a job, take ten steps'
// learning rates, report a metric each step.
//
//   lrsched_example localhost:50051
#include <cstdio>

#include "lrsched/client.h"
#include "lrsched/worker_schedule.h"

int main(int argc, char** argv) {
  lrsched::ClientOptions options;
  if (argc > 1) options.target = argv[1];
  lrsched::Client client(options);

  lrsched::v1::CreateJobRequest create;
  create.set_job_id("example");
  create.add_base_lrs(0.1);
  create.set_world_size(1);
  auto* plateau = create.mutable_spec()->mutable_reduce_lr_on_plateau();
  plateau->set_patience(1);
  plateau->set_factor(0.5);
  if (auto job = client.CreateJob(create); !job.ok()) {
    std::fprintf(stderr, "CreateJob: %s\n", job.status().ToString().c_str());
    return 1;
  }
  lrsched::WorkerSchedule schedule(client, "example", /*rank=*/0);
  for (int epoch = 0; epoch < 10; ++epoch) {
    auto rates = schedule.Step();
    if (!rates.ok()) {
      std::fprintf(stderr, "Step: %s\n", rates.status().ToString().c_str());
      return 1;
    }
    const double loss = epoch < 3 ? 1.0 / (epoch + 1) : 0.33;  // stalls after epoch 3
    if (auto reported = schedule.ReportMetric(loss); !reported.ok()) {
      std::fprintf(stderr, "ReportMetric: %s\n", reported.status().ToString().c_str());
      return 1;
    }
    std::printf("epoch %d lr %.6g loss %.3f\n", epoch, rates->lrs[0], loss);
  }
  return 0;
}
