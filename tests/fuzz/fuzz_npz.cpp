// libFuzzer target: the .npz reader (core/npz.h) on an archive in memory, with and without the exact int64 path.
#include "core/npz.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = toy::fuzz::as_text(data, size);
  toy::fuzz::expect_only_toy_errors([&] {
    toy::NpzInt64Arrays ints;
    toy::NpzArrays floats = toy::load_npz_bytes(bytes, "fuzz.npz", &ints);
    for (const auto& [name, t] : floats) (void)t.to_vector();
  });
  toy::fuzz::expect_only_toy_errors([&] { (void)toy::load_npz_bytes(bytes, "fuzz.npz"); });
  return 0;
}
