#include "weightdiff/storage.hpp"

#include <utility>

namespace weightdiff {
namespace {

class BorrowedStorage final : public Storage {
 public:
  BorrowedStorage(const void* data, uint64_t size, std::string display)
      : data_(static_cast<const std::byte*>(data)), size_(size), display_(std::move(display)) {}
  const std::byte* data() const noexcept override { return data_; }
  uint64_t size() const noexcept override { return size_; }
  const std::string& display_path() const noexcept override { return display_; }

 private:
  const std::byte* data_;
  uint64_t size_;
  std::string display_;
};

}  // namespace

std::shared_ptr<const Storage> borrowed_storage(const void* data, uint64_t size,
                                                std::string display) {
  return std::make_shared<BorrowedStorage>(data, size, std::move(display));
}

}  // namespace weightdiff
