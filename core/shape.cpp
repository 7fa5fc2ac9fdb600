// Shape implementation.
#include "core/shape.h"

#include "core/error.h"

namespace toy {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  TOY_CHECK(dims.size() <= static_cast<size_t>(kMaxRank), "shape: rank {} exceeds the maximum of {}", dims.size(),
            kMaxRank);
  for (int64_t d : dims) TOY_CHECK(d >= 0, "shape: negative dimension {}", d);
  rank_ = static_cast<int>(dims.size());
  for (int i = 0; i < rank_; ++i) dims_[i] = dims[i];
  check_size();
}

void Shape::check_size() const {
  // The element count must fit int64 with room for byte offsets (x4): a shape whose product overflows would
  // otherwise look empty or small.
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i)
    TOY_CHECK(!__builtin_mul_overflow(n, dims_[i], &n) && n <= (int64_t{1} << 60),
              "shape: ({}) has more elements than can be addressed", str());
}

int64_t Shape::operator[](int i) const {
  int j = i < 0 ? rank_ + i : i;
  TOY_CHECK(j >= 0 && j < rank_, "shape: dimension {} out of range for ({})", i, str());
  return dims_[j];
}

int64_t Shape::numel() const { return prod(0, rank_); }

int64_t Shape::prod(int from, int to) const {
  int64_t n = 1;
  for (int i = from; i < to; ++i) n *= dims_[i];
  return n;
}

Shape Shape::suffix(int n) const {
  TOY_CHECK(n >= 0 && n <= rank_, "shape: suffix of {} dims of ({})", n, str());
  Shape s;
  s.rank_ = n;
  for (int i = 0; i < n; ++i) s.dims_[i] = dims_[rank_ - n + i];
  return s;
}

Shape Shape::with_last(int64_t d) const {
  TOY_CHECK(rank_ > 0, "shape: a scalar has no last dimension");
  Shape s = *this;
  s.dims_[rank_ - 1] = d;
  s.check_size();
  return s;
}

Shape Shape::without_last() const {
  TOY_CHECK(rank_ > 0, "shape: a scalar has no last dimension");
  Shape s = *this;
  s.rank_ -= 1;
  s.dims_[s.rank_] = 0;
  return s;
}

Shape Shape::append(int64_t d) const {
  TOY_CHECK(rank_ < kMaxRank, "shape: cannot append to rank {}", rank_);
  TOY_CHECK(d >= 0, "shape: negative dimension {}", d);
  Shape s = *this;
  s.dims_[s.rank_++] = d;
  s.check_size();
  return s;
}

std::string Shape::str() const {
  if (rank_ == 0) return "()";
  std::string s;
  for (int i = 0; i < rank_; ++i) {
    if (i) s += 'x';
    s += std::to_string(dims_[i]);
  }
  return s;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

}  // namespace toy
