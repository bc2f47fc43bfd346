#include "cli/mpi_world.hpp"

#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string_view>

#ifdef WEIGHTDIFF_HAVE_MPI
#include <mpi.h>
#endif

namespace weightdiff::cli {
namespace {

// The job size the launcher announces, before MPI is started: a plain run
// must never pay for MPI_Init (nor fail where no MPI runtime works).
int launcher_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return 1;
}

int launcher_local_rank(int rank) {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return rank;
}

}  // namespace

#ifdef WEIGHTDIFF_HAVE_MPI

bool built_with_mpi() { return true; }

std::unique_ptr<MpiWorld> MpiWorld::join(int* argc, char*** argv) {
  if (launcher_size() <= 1) return nullptr;
  int provided = 0;
  // Only the main thread calls MPI (TBB's workers never do).
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return nullptr;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size <= 1) {
    MPI_Finalize();
    return nullptr;
  }
  return std::unique_ptr<MpiWorld>(new MpiWorld(rank, size, launcher_local_rank(rank)));
}

MpiWorld::~MpiWorld() { MPI_Finalize(); }

namespace {

constexpr uint64_t kMessageBytes = uint64_t{1} << 30;  // MPI counts are ints

void send_text(const std::string& s, int to) {
  const uint64_t n = s.size();
  MPI_Send(&n, 1, MPI_UINT64_T, to, 0, MPI_COMM_WORLD);
  for (uint64_t at = 0; at < n; at += kMessageBytes)
    MPI_Send(s.data() + at, static_cast<int>(std::min(kMessageBytes, n - at)), MPI_BYTE, to, 1, MPI_COMM_WORLD);
}

std::string receive_text(int from) {
  uint64_t n = 0;
  MPI_Recv(&n, 1, MPI_UINT64_T, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::string s(n, '\0');
  for (uint64_t at = 0; at < n; at += kMessageBytes)
    MPI_Recv(s.data() + at, static_cast<int>(std::min(kMessageBytes, n - at)), MPI_BYTE, from, 1,
             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return s;
}

}  // namespace

std::optional<std::pair<int, std::string>> MpiWorld::first_failure(int status, const std::string& line) {
  std::vector<int> all(static_cast<size_t>(size_));
  MPI_Allgather(&status, 1, MPI_INT, all.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int failed = -1;
  for (int r = 0; r < size_ && failed < 0; ++r)
    if (all[static_cast<size_t>(r)] != 0) failed = r;
  if (failed < 0) return std::nullopt;
  std::string text = rank_ == failed ? line : std::string();
  if (failed != 0) {
    if (rank_ == failed) send_text(line, 0);
    if (rank_ == 0) text = receive_text(failed);
  }
  return std::pair{failed, rank_ == 0 ? text : std::string()};
}

std::vector<std::string> MpiWorld::gather(const std::string& text) {
  std::vector<std::string> out;
  if (rank_ != 0) {
    send_text(text, 0);
    return out;
  }
  out.push_back(text);
  for (int r = 1; r < size_; ++r) out.push_back(receive_text(r));
  return out;
}

int MpiWorld::broadcast(int value) {
  MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return value;
}

void MpiWorld::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this says so to the compiler
}

#else  // no MPI in this build: every run is a plain one

bool built_with_mpi() { return false; }
std::unique_ptr<MpiWorld> MpiWorld::join(int*, char***) {
  (void)launcher_size;
  (void)launcher_local_rank;
  return nullptr;
}
MpiWorld::~MpiWorld() = default;
std::optional<std::pair<int, std::string>> MpiWorld::first_failure(int, const std::string&) { return std::nullopt; }
std::vector<std::string> MpiWorld::gather(const std::string&) { return {}; }
int MpiWorld::broadcast(int value) { return value; }
void MpiWorld::abort(int code) { std::_Exit(code); }

#endif

}  // namespace weightdiff::cli
