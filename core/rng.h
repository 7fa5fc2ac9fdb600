// Seeded random numbers and the Keras initializers. std::mt19937_64's output sequence is fixed by the C++
// standard, and the float conversion is ours, so a seed gives the same weights on every platform.
#pragma once
#include <cstdint>
#include <random>
#include <string>

#include "core/tensor.h"

namespace toy {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : engine_(seed) {}
  // Uniform in [0, 1) with 24 random bits (every value exactly representable in float32).
  float uniform01();
  // Uniform in [lo, hi).
  float uniform(float lo, float hi);
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);
  // Engine state as text (for checkpoints) and back.
  std::string state() const;
  void set_state(const std::string& s);

 private:
  std::mt19937_64 engine_;
};

namespace init {
// Keras' RandomUniform: U[lo, hi) (Embedding default: lo=-0.05, hi=0.05).
Tensor uniform(const Shape& shape, Rng& rng, float lo = -0.05f, float hi = 0.05f);
// Keras' GlorotUniform for a Dense kernel [fan_in, fan_out]: U[-limit, limit), limit = sqrt(6/(fan_in+fan_out)).
Tensor glorot_uniform(const Shape& shape, Rng& rng);
// Zeros (Keras' bias default, LayerNormalization's beta).
Tensor zeros(const Shape& shape);
// Ones (Keras' LayerNormalization gamma default).
Tensor ones(const Shape& shape);
}  // namespace init

}  // namespace toy
