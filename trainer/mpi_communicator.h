// MPI for lrsched-trainer behind one RAII wrapper: initialization, rank and
// size, and the reductions the trainer needs.
#ifndef LRSCHED_TRAINER_MPI_COMMUNICATOR_H_
#define LRSCHED_TRAINER_MPI_COMMUNICATOR_H_

#include <Eigen/Dense>

namespace lrsched::trainer {

class MpiCommunicator {
 public:
  // MPI_Init; MPI_Finalize in the destructor. One per process.
  MpiCommunicator(int* argc, char*** argv);
  ~MpiCommunicator();
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Replaces `values` on every rank by their mean over the ranks. Reduced on
  // rank 0 and broadcast, so every rank holds the very same bits (an
  // all-reduce may round differently on different ranks).
  void Average(Eigen::Ref<Eigen::VectorXd> values) const;
  // The sums over the ranks, on every rank (same bits everywhere).
  void Sum(Eigen::Ref<Eigen::VectorXd> values) const;

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace lrsched::trainer

#endif  // LRSCHED_TRAINER_MPI_COMMUNICATOR_H_
