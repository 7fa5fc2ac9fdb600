// Shape: up to 6 dimensions held inline (no heap), row-major; rank 0 is a scalar with one element.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace toy {

class Shape {
 public:
  static constexpr int kMaxRank = 6;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  // Dimension i; negative i counts from the back (-1 = last).
  int64_t operator[](int i) const;
  int64_t numel() const;
  // Product of dims [from, to).
  int64_t prod(int from, int to) const;
  // The last n dims as a Shape.
  Shape suffix(int n) const;
  // This shape with its last dim replaced / removed / another appended.
  Shape with_last(int64_t d) const;
  Shape without_last() const;
  Shape append(int64_t d) const;
  std::vector<int64_t> dims() const { return {dims_.begin(), dims_.begin() + rank_}; }
  // "2x5x7"; "()" for a scalar.
  std::string str() const;

  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  void check_size() const;  // throws when the element count overflows
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace toy
