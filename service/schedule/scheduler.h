// The interface of one PyTorch learning-rate scheduler, and the optimizer
// state that schedulers share.
//
// A Scheduler reproduces one class of torch.optim.lr_scheduler bit for bit. It
// does not own the learning rates: like PyTorch's schedulers, which read and
// write optimizer.param_groups, it reads and writes a ParamGroups that a
// Schedule (or a composite scheduler) owns, so that composition behaves as in
// PyTorch. Schedulers are built by MakeScheduler() (scheduler_factory.h),
// which validates the spec; their methods assume a valid spec and do not check
// it again.
//
// Not thread-safe: a Scheduler belongs to one Schedule, which its owner locks.
#ifndef LRSCHED_SERVICE_SCHEDULE_SCHEDULER_H_
#define LRSCHED_SERVICE_SCHEDULE_SCHEDULER_H_

#include <cstdint>
#include <vector>

namespace lrsched {

// The largest step lrsched serves: 2^53 - 1, below which PyTorch's Python
// integers convert to float64 exactly.
inline constexpr int64_t kMaxStep = (int64_t{1} << 53) - 1;

// What PyTorch keeps per parameter group that schedulers read and write.
struct ParamGroups {
  // param_groups[g]['lr'].
  std::vector<double> lrs;
  // param_groups[g]['initial_lr']; empty until a scheduler claims it.
  std::vector<double> initial_lrs;
  // param_groups[g]['momentum'] (Adam: beta1); empty unless a scheduler
  // cycles momentum.
  std::vector<double> momentums;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // What PyTorch's constructor does to the groups, including its initial
  // step(): afterwards groups.lrs hold lr(0).
  virtual void Construct(ParamGroups& groups) = 0;

  // One call of step(). `metric` is read only where NextStepTakesMetric().
  // Precondition: the step after this one is at most LastStep().
  virtual void Step(ParamGroups& groups, double metric) = 0;

  // step(0), as SequentialLR calls it on the scheduler that takes over at a
  // milestone: the closed form at epoch 0 where PyTorch has one.
  virtual void Restart(ParamGroups& groups) = 0;

  // SequentialLR's `last_epoch -= 1` on each child after construction.
  virtual void UndoInitialStep() = 0;

  // Whether the next Step() reads its metric.
  virtual bool NextStepTakesMetric() const { return false; }
  // Whether any Step() may read a metric.
  virtual bool TakesMetric() const { return false; }
  // Whether the scheduler writes groups.momentums.
  virtual bool CyclesMomentum() const { return false; }
  // The last step whose values exist (PyTorch raises after it).
  virtual int64_t LastStep() const { return kMaxStep; }

  // The first step whose metric a Step() reads (kMaxStep if none does).
  virtual int64_t FirstMetricStep() const { return kMaxStep; }

  // The ReduceLROnPlateau that decides with metrics: this one, or the last
  // scheduler of a SequentialLR; null when none does.
  virtual const class ReduceLROnPlateau* Plateau() const { return nullptr; }

  // Multiplies every learning-rate value the scheduler computes from (base
  // rates, bounds, floors) by `factor`, as a person would set those attributes
  // by hand in PyTorch. The groups' values are the caller's to scale.
  virtual void Scale(double factor) = 0;
};

}  // namespace lrsched

#endif  // LRSCHED_SERVICE_SCHEDULE_SCHEDULER_H_
