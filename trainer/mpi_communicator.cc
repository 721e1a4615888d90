#include "trainer/mpi_communicator.h"

#include <mpi.h>

namespace lrsched::trainer {

MpiCommunicator::MpiCommunicator(int* argc, char*** argv) {
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiCommunicator::~MpiCommunicator() { MPI_Finalize(); }

void MpiCommunicator::Sum(Eigen::Ref<Eigen::VectorXd> values) const {
  Eigen::VectorXd sum(values.size());
  MPI_Reduce(values.data(), sum.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, 0,
             MPI_COMM_WORLD);
  if (rank_ == 0) values = sum;
  MPI_Bcast(values.data(), static_cast<int>(values.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

void MpiCommunicator::Average(Eigen::Ref<Eigen::VectorXd> values) const {
  Sum(values);
  values /= static_cast<double>(size_);
}

}  // namespace lrsched::trainer
