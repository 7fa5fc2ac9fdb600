// libFuzzer target: a run directory's run.json (apps/lib/visual/report.h: load_run_dir), the input written as run.json
// beside a fixed, valid activations.npz (tests/fuzz/data/, from `train --epochs 3 --out`), then the run's report page
// as `toyformer report` renders it.
#include "apps/lib/visual/report.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path dir = [] {
    const fs::path d = toy::fuzz::scratch() / "run";
    fs::create_directories(d);
    fs::copy_file(fs::path(TOY_FUZZ_DATA) / "activations.npz", d / "activations.npz",
                  fs::copy_options::overwrite_existing);
    return d;
  }();
  toy::fuzz::write_file(dir / "run.json", toy::fuzz::as_text(data, size));
  toy::fuzz::expect_only_toy_errors([&] {
    const toy::RunRecord r = toy::load_run_dir(dir.string());
    (void)toy::run_report_html(r);
  });
  return 0;
}
