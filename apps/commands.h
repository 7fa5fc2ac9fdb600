// The `toyformer` subcommands: each registers its options on the CLI11 app and returns the code to exit with.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

#include "apps/exit_codes.h"  // kExitFailure, kExitUsage, kExitDevice

namespace toy::app {

using Runner = std::function<int()>;
Runner add_train(CLI::App& app);
Runner add_bench(CLI::App& app);
Runner add_devices(CLI::App& app);
// `toyformer attend FILE.json | --embeddings FILE --ids LIST` (apps/cmd_attend.cpp, logic in apps/lib/tools/attend.h).
Runner add_attend(CLI::App& app);
Runner add_sweep(CLI::App& app);
Runner add_inspect(CLI::App& app);
Runner add_report(CLI::App& app);
// `toyformer compare A.npz B.npz`: exit 0 within tolerance, 1 different, 2 bad input.
Runner add_compare(CLI::App& app);
// `toyformer gradcheck --op NAME`: exit 0 passed, 1 failed, 2 bad input.
Runner add_gradcheck(CLI::App& app);

}  // namespace toy::app
