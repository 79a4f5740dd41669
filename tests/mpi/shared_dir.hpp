#pragma once
// A temporary folder that every rank of a test sees: rank 0 creates it and broadcasts its
// name; it is removed (by rank 0) only after every rank is done with it.

#include <memory>
#include <string>

#include "innmf/mpi/comm.hpp"
#include "test_util.hpp"

namespace innmf::testing {

class SharedDir {
 public:
  explicit SharedDir(const mpi::Comm& comm) : comm_(comm) {
    if (comm.is_root()) local_ = std::make_unique<TempDir>();
    path_ = comm.is_root() ? local_->path() : "";
    comm.broadcast(path_);
  }
  ~SharedDir() { comm_.barrier(); }
  SharedDir(const SharedDir&) = delete;
  SharedDir& operator=(const SharedDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  const mpi::Comm& comm_;
  std::unique_ptr<TempDir> local_;
  std::string path_;
};

}  // namespace innmf::testing
