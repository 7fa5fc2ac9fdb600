// The `toyformer` command: train the notebook's toy attention model, benchmark it, list devices, sweep H and seeds,
// inspect activation dumps, write HTML reports.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "apps/commands.h"

namespace {

// Edit distance (insertions, deletions, substitutions), for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"toyformer: train tiny attention models and look inside them", "toyformer"};
  app.require_subcommand(1);
  app.footer("Exit codes: 0 done; 1 numerical failure (e.g. a NaN loss) or internal error; 2 bad usage or input "
             "(also --device cuda without a usable GPU); 3 device failure (a CUDA call failed; the line says which). "
             "compare and gradcheck: 1 also means differs / failed.");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "spdlog level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  std::vector<std::pair<CLI::App*, toy::app::Runner>> runners;
  auto add = [&](toy::app::Runner (*f)(CLI::App&)) {
    toy::app::Runner r = f(app);
    runners.push_back({app.get_subcommands({}).back(), std::move(r)});
  };
  add(toy::app::add_train);
  add(toy::app::add_bench);
  add(toy::app::add_devices);
  add(toy::app::add_sweep);
  add(toy::app::add_inspect);
  add(toy::app::add_report);
  add(toy::app::add_compare);
  add(toy::app::add_gradcheck);
  add(toy::app::add_attend);
  // A bare `toyformer` prints the usage; a first word that is no command gets the nearest one suggested.
  std::vector<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
  if (argc == 1) {
    std::fputs(app.help().c_str(), stderr);
    std::fprintf(stderr, "toyformer: error: a command is required (one of: %s)\n",
                 fmt::format("{}", fmt::join(commands, ", ")).c_str());
    return toy::app::kExitUsage;
  }
  if (argv[1][0] != '-' && std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
    std::string best = commands.front();
    for (const auto& c : commands)
      if (edit_distance(argv[1], c) < edit_distance(argv[1], best)) best = c;
    const bool close = edit_distance(argv[1], best) <= std::max<size_t>(2, best.size() / 3);
    std::fprintf(stderr, "toyformer: error: unknown command '%s'%s (commands: %s; toyformer --help)\n", argv[1],
                 close ? fmt::format(" (did you mean '{}'?)", best).c_str() : "",
                 fmt::format("{}", fmt::join(commands, ", ")).c_str());
    return toy::app::kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "toyformer: error: %s\n", e.what());
    return toy::app::kExitUsage;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%v");
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
    return toy::app::kExitUsage;
  } catch (...) {  // one line and the exit code of its kind (apps/exit_codes.h)
    const toy::app::ExitReport r = toy::app::exit_report_of(std::current_exception());
    std::fputs(r.line.c_str(), stderr);
    return r.code;
  }
}
