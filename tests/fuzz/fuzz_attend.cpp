// libFuzzer target: `toyformer attend`'s JSON problem (apps/lib/tools/attend.h: read_attend_problem), then the
// attention itself and every output form (JSON, tables, SVG), as the command runs them.
#include "apps/lib/tools/attend.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (toy::fuzz::scratch() / "problem.json").string();
  toy::fuzz::write_file(path, toy::fuzz::as_text(data, size));
  toy::fuzz::expect_only_toy_errors([&] {
    const toy::app::AttendProblem p = toy::app::read_attend_problem(path);
    const toy::app::AttendResult r = toy::app::attend(p);
    (void)toy::app::attend_json(r).dump();
    (void)toy::app::attend_tables(r);
    (void)toy::app::attend_heatmap_svg(r);
  });
  return 0;
}
