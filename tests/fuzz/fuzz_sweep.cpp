// libFuzzer target: a sweep directory (apps/lib/sweep/sweep.h: load_sweep_dir). The input is cut at NUL bytes into
// sweep.json, runs.csv and (when there is a third part) timing.csv; then the summary table and the report page.
#include "apps/lib/visual/report.h"
#include "apps/lib/sweep/sweep.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path dir = [] {
    const fs::path d = toy::fuzz::scratch() / "sweep";
    fs::create_directories(d);
    return d;
  }();
  const std::vector<std::string_view> parts = toy::fuzz::split(toy::fuzz::as_text(data, size), '\0', 3);
  const char* names[] = {"sweep.json", "runs.csv", "timing.csv"};
  for (size_t i = 0; i < 3; ++i) {
    if (i < parts.size()) toy::fuzz::write_file(dir / names[i], parts[i]);
    else fs::remove(dir / names[i]);
  }
  toy::fuzz::expect_only_toy_errors([&] {
    const toy::SweepData d = toy::load_sweep_dir(dir.string());
    (void)toy::summary_table(d);
    (void)toy::sweep_report_html(d);
  });
  return 0;
}
