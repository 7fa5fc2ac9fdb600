// `toyformer report DIR -o report.html`: one self-contained HTML page for a run directory (train --out) or a sweep
// directory (sweep --out / sweep merge --out).
#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/lib/formats/fs_util.h"
#include "apps/lib/visual/report.h"

namespace toy::app {
namespace {

struct ReportCli {
  std::string dir, out;
};

int run_report(const ReportCli& c) {
  const std::string html = report_for_dir(c.dir);
  write_file_atomic(c.out, html);
  fmt::print("wrote {} ({} bytes)\n", c.out, html.size());
  return 0;
}

}  // namespace

Runner add_report(CLI::App& app) {
  auto c = std::make_shared<ReportCli>();
  CLI::App* s = app.add_subcommand("report", "write a self-contained HTML report of a run or sweep directory");
  s->add_option("DIR", c->dir, "a run directory (train --out) or a sweep directory (sweep --out)")->required();
  s->add_option("-o,--out", c->out, "the HTML file to write")->required();
  return [c] { return run_report(*c); };
}

}  // namespace toy::app
