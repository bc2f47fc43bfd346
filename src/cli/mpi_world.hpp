// The MPI job a `mpirun -np N weightdiff A B ...` process runs in (issue 13
// item 2): each rank computes part rank+1 of N (--shard), rank 0 gathers
// the parts, merges them and alone prints and writes reports. Built only
// with WEIGHTDIFF_MPI (Open MPI); otherwise join() is always null.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace weightdiff::cli {

class MpiWorld {
 public:
  // Joins the job when this build has MPI, the launcher says this process
  // is one of several ranks (OMPI_COMM_WORLD_SIZE, PMI_SIZE or
  // PMIX_SIZE... above 1), and MPI starts; null otherwise (a plain run).
  static std::unique_ptr<MpiWorld> join(int* argc, char*** argv);
  ~MpiWorld();  // MPI_Finalize
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // among the ranks on this node

  // Collective: the lowest rank whose status is nonzero and, at rank 0, its
  // error line; nullopt when every rank succeeded.
  std::optional<std::pair<int, std::string>> first_failure(int status, const std::string& line);
  // Collective: every rank's text in rank order at rank 0, empty elsewhere.
  std::vector<std::string> gather(const std::string& text);
  // Collective: rank 0's value at every rank.
  int broadcast(int value);
  // Ends every rank's process now (a rank that cannot take part in the
  // next collective: the others would wait for it forever).
  [[noreturn]] void abort(int code);

 private:
  MpiWorld(int rank, int size, int local_rank) : rank_(rank), size_(size), local_rank_(local_rank) {}
  int rank_, size_, local_rank_;
};

// Whether this build can run under mpirun (WEIGHTDIFF_MPI found Open MPI).
bool built_with_mpi();

}  // namespace weightdiff::cli
