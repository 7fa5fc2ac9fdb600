// libFuzzer target: the activation-dump loader of `toyformer inspect` (apps/lib/tools/inspect.h: load_dump), on the
// input written as an .npz file.
#include "apps/lib/tools/inspect.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (toy::fuzz::scratch() / "dump.npz").string();
  toy::fuzz::write_file(path, toy::fuzz::as_text(data, size));
  toy::fuzz::expect_only_toy_errors([&] {
    toy::app::Dump d = toy::app::load_dump(path);
    // What the printing relies on once load_dump has passed: every token id labels a row.
    for (int64_t s = 0; s < d.B; ++s)
      for (int64_t t = 0; t < d.T; ++t) (void)d.position(s, t);
  });
  return 0;
}
