// toyformer._core: the pybind11 binding of the library's jobs (train, sweep, attend, npz). Thin by design: keyword
// arguments arrive as the command's flags and CLI11 parses them exactly as `toyformer train|sweep` does (same defaults,
// checks and messages), the work is the library's (apps/lib/training/train_run.h, sweep.h, attend.h, report.h,
// core/npz.h), and tensors reach numpy without a copy. toyformer/__init__.py adds signatures, tables and display.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "apps/lib/tools/attend.h"
#include "apps/lib/formats/fs_util.h"
#include "apps/lib/visual/report.h"
#include "apps/lib/sweep/sweep.h"
#include "apps/lib/training/train.h"
#include "apps/lib/training/train_run.h"
#include "apps/training_flags.h"
#include "core/error.h"
#include "core/npz.h"

namespace py = pybind11;

namespace toy::python {
namespace {

// A tensor as a read-only float32 numpy array over the tensor's own storage (the capsule keeps it alive; a CUDA
// tensor is copied to the host once). Read-only because the arrays are the run's record: save() writes them.
py::array to_numpy(const Tensor& t) {
  std::vector<py::ssize_t> shape;
  for (int64_t d : t.shape().dims()) shape.push_back(static_cast<py::ssize_t>(d));
  if (t.numel() == 0) return py::array_t<float>(shape);
  auto* held = new Tensor(t.device() == Device::CPU ? t : t.to(Device::CPU));
  py::capsule owner(held, [](void* p) { delete static_cast<Tensor*>(p); });
  py::array a(py::dtype::of<float>(), shape, {}, held->data(), owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

py::dict to_dict(const NpzArrays& arrays) {
  py::dict d;
  for (const auto& [name, t] : arrays) d[py::str(name)] = to_numpy(t);
  return d;
}

// Parse the flags (["--H=20", "--optimizer=sgd", ...]) as the command does; a bad value raises ValueError with the
// command's message ("--optimizer: adamw not in {sgd,rmsprop,adam}").
void parse_flags(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector form last-first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    throw py::value_error(e.what());
  }
}

// Ctrl-C: Python runs signal handlers only between bytecodes of the main thread, so a job runs on a worker thread
// with the GIL released while the calling thread polls the handlers every 50 ms. On KeyboardInterrupt (or any
// exception a handler raises) it sets `stop` (the job's callbacks throw when they see it), waits for the worker and
// raises the Python exception; the interpreter and earlier results are untouched.
struct Stopped : std::exception {
  const char* what() const noexcept override { return "stopped"; }
};

template <class Job>
void run_interruptible(Job&& job, std::atomic<bool>& stop) {
  std::exception_ptr err;
  std::optional<py::error_already_set> py_err;
  {
    py::gil_scoped_release nogil;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::thread worker([&] {
      try {
        job();
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu);
      done = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
      if (py_err) continue;
      lock.unlock();
      {
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) {
          py_err.emplace();
          stop = true;
        }
      }
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  if (py_err) throw *py_err;
  if (err) std::rethrow_exception(err);
}

ToyCorpus corpus_of(const std::optional<std::vector<std::string>>& sentences, const std::string& path) {
  if (sentences) {
    std::string text;
    for (const auto& s : *sentences) text += s + "\n";
    return parse_corpus(text, "corpus");
  }
  return path.empty() ? notebook_corpus() : load_corpus(path);
}

// What `toyformer train` decides from its flags, less the output flags (Python keeps the results in memory),
// checkpoints and gradients.
struct TrainFlags : app::TrainingFlags {
  int64_t H = 20;
  uint64_t seed = 1;
  int64_t snapshot_every = 0;
  std::string snapshot_layers = "AttnWts,activation";
};

// A finished run: the record `train --out` writes, the activation dump and the weights.
struct PyRun {
  RunRecord rec;
  NpzArrays dump, weights;
  std::string result_json;  // what `train --json` prints
};

std::shared_ptr<PyRun> train_run(const std::vector<std::string>& args,
                                 const std::optional<std::vector<std::string>>& sentences) {
  TrainFlags c;
  CLI::App app("toyformer train", "train");
  app::add_model_flags(&app, c.H, c.seed);
  app::add_training_flags(&app, c);
  app::add_snapshot_flags(&app, c.snapshot_every, c.snapshot_layers);
  parse_flags(app, args);

  auto out = std::make_shared<PyRun>();
  std::atomic<bool> stop{false};
  run_interruptible(
      [&] {
        // The checks and their order are `train`'s (apps/lib/training/train_run.h: setup_train).
        TrainSetup t = setup_train(c, c.H, c.seed, [&] { return corpus_of(sentences, c.corpus); });
        const ToyCorpus& corpus = t.corpus;
        const ToyConfig& cfg = t.cfg;
        ToyModel& m = *t.model;
        TrainOptions& o = t.options;
        std::unique_ptr<LayerSnapshots> snapshots;
        if (c.snapshot_every > 0)
          snapshots = std::make_unique<LayerSnapshots>(m, corpus, cfg, c.batch, c.snapshot_every,
                                                       parse_snapshot_layers(c.snapshot_layers, m.layer_names()));
        o.on_epoch = [&](const EpochInfo& e) {
          if (stop.load(std::memory_order_relaxed)) throw Stopped();
          if (snapshots && e.model == 0) snapshots->record(e);
        };
        const TrainResult r = train(m, corpus, o);
        const TrainedView tv = view_trained(m, corpus, cfg, c.batch, r, o, app::verdict_rules(c));
        out->dump = activation_arrays(tv.view->model(), r.loss, r.lr, corpus.vocab);
        if (snapshots) snapshots->append_to(out->dump, tv.view->model(), tv.verdict.positions.size());
        const nlohmann::json config =
            app::run_config(c, c.H, c.seed,
                            sentences ? nlohmann::json(*sentences)
                                      : nlohmann::json(c.corpus.empty() ? std::string("notebook") : c.corpus),
                            "");
        out->weights = toy_weights(m);
        out->rec = make_run_record(config, corpus, m, tv, r, out->dump);
        out->result_json = train_result_json(out->rec).dump();
      },
      stop);
  return out;
}

struct SweepFlags : app::TrainingFlags {
  std::string hs = "10,20,40", shard = "1/1";
  std::vector<std::string> grid;
  int64_t seeds = 100;
  uint64_t seed_start = 1;
  int jobs = 0;
};

std::shared_ptr<SweepData> sweep_runs(const std::vector<std::string>& args,
                                      const std::optional<std::vector<std::string>>& sentences) {
  SweepFlags c;
  CLI::App app("toyformer sweep", "sweep");
  app::add_grid_flags(&app, c.hs, c.seeds, c.seed_start, c.jobs, c.shard, c.grid);
  app::add_training_flags(&app, c);
  parse_flags(app, args);

  auto d = std::make_shared<SweepData>();
  std::atomic<bool> stop{false};
  run_interruptible(
      [&] {
        // The checks and their order are `sweep`'s (apps/cmd_sweep.cpp).
        SweepConfig cfg = app::sweep_config(c);
        app::set_sweep_grid(cfg, app, c.hs, c.grid);
        cfg.seeds = c.seeds;
        cfg.seed_start = c.seed_start;
        if (sentences) cfg.corpus_source = fmt::format("{} sentences (Python)", sentences->size());
        const Shard shard = parse_shard(c.shard);
        TOY_CHECK(c.jobs >= 0, "--jobs must be >= 0 (0: one per core), got {}", c.jobs);
        d->corpus = corpus_of(sentences, c.corpus);
        validate(cfg, d->corpus);
        d->config = cfg;
        d->shard = shard;
        const std::vector<RunSpec> grid = sweep_grid(cfg);
        d->grid_size = static_cast<int64_t>(grid.size());
        const int jobs = c.jobs > 0 ? c.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        d->runs = train_runs(d->corpus, cfg, shard_of(grid, shard), jobs, {}, 0, &stop);
      },
      stop);
  return d;
}

// Numbers (any nesting) as JSON arrays, for parse_attend_problem: it checks the shapes and values with the messages
// of `toyformer attend FILE` (integers stay integers, so the messages quote them as the file would).
template <class T>
nlohmann::json numbers_json(const py::array_t<T, py::array::c_style | py::array::forcecast>& a) {
  const T* p = a.data();
  const py::ssize_t nd = a.ndim();
  std::function<nlohmann::json(py::ssize_t, size_t)> rec = [&](py::ssize_t axis, size_t offset) {
    if (axis == nd) return nlohmann::json(p[offset]);
    nlohmann::json arr = nlohmann::json::array();
    size_t stride = 1;
    for (py::ssize_t k = axis + 1; k < nd; ++k) stride *= static_cast<size_t>(a.shape(k));
    for (py::ssize_t i = 0; i < a.shape(axis); ++i) arr.push_back(rec(axis + 1, offset + static_cast<size_t>(i) * stride));
    return arr;
  };
  return rec(0, 0);
}

nlohmann::json array_json(const py::array& a) {
  const char kind = a.dtype().kind();
  if (kind == 'i' || kind == 'u' || kind == 'b')
    return numbers_json(py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a));
  return numbers_json(py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a));
}

py::tuple attend_problem(const py::dict& fields) {
  nlohmann::json j = nlohmann::json::object();
  for (auto [k, v] : fields) {
    const std::string key = py::cast<std::string>(k);
    if (v.is_none()) continue;
    if (key == "heads")
      j[key] = py::cast<int64_t>(v);
    else if (key == "mask")
      j[key] = py::cast<std::string>(v);
    else if (key == "tokens")
      j[key] = nlohmann::json::parse(py::cast<std::string>(v));  // JSON text from the Python layer
    else
      j[key] = array_json(py::cast<py::array>(v));
  }
  app::AttendResult r;
  {
    py::gil_scoped_release nogil;
    r = app::attend(app::parse_attend_problem(j));
  }
  nlohmann::json info = app::attend_json(r);
  py::dict arrays;
  for (const auto& [name, t] : std::initializer_list<std::pair<const char*, const Tensor*>>{
           {"q", &r.q}, {"k", &r.k}, {"v", &r.v}, {"scores", &r.scores}, {"scaled_scores", &r.scaled_scores},
           {"weights", &r.weights}, {"average_weights", &r.average_weights}, {"output", &r.output}}) {
    info.erase(name);
    arrays[name] = to_numpy(*t);
  }
  return py::make_tuple(info.dump(), arrays);
}

// The notebook's attention table of sequence seq, as `train` prints it; a variant's tables of every block and head,
// each under its line of `train` ("sequence 0: attention weights (L0/AttnWts head 1, rows attend to columns)").
std::string attention_text(const RunRecord& r, int64_t seq) {
  if (r.arch.notebook()) return attention_table(r.corpus, r.attention.front().second, seq);
  const std::string text = attention_tables(r.corpus, r.attention, seq);
  return text.substr(text.find_first_not_of('\n'));  // train separates the tables from what precedes them
}

// Errors while writing files: OSError with the library's message (it names the file).
template <class F>
void writing(F&& f) {
  try {
    py::gil_scoped_release nogil;
    f();
  } catch (const Error& e) {
    throw py::value_error(e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    PyErr_SetString(PyExc_OSError, e.what());
    throw py::error_already_set();
  }
}

}  // namespace
}  // namespace toy::python

PYBIND11_MODULE(_core, m) {
  using namespace toy;
  using namespace toy::python;
  m.doc() = "toyformer's C++ engine (use the toyformer package, not this module)";
  // The library reports bad input as toy::Error: ValueError, with the command's message; a device failure (a CUDA
  // or cuBLAS error, toy::DeviceError: exit code 3 of the command) is no bad input: RuntimeError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const DeviceError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<PyRun, std::shared_ptr<PyRun>>(m, "RunData")
      .def_property_readonly("result_json", [](const PyRun& r) { return r.result_json; })
      .def_property_readonly("config_json", [](const PyRun& r) { return r.rec.config.dump(); })
      .def_property_readonly("run_json", [](const PyRun& r) { return run_json(r.rec).dump(); })
      .def_property_readonly("dump", [](const PyRun& r) { return to_dict(r.dump); })
      .def_property_readonly("weights", [](const PyRun& r) { return to_dict(r.weights); })
      .def_property_readonly("vocab", [](const PyRun& r) { return r.rec.corpus.vocab; })
      .def_property_readonly("sequences", [](const PyRun& r) { return r.rec.corpus.seqs; })
      .def("position_label", [](const PyRun& r, int64_t seq, int64_t t) { return position_label(r.rec.corpus, seq, t); })
      .def("prediction_text", [](const PyRun& r, int64_t seq) { return prediction_table(r.rec.corpus, r.rec.activation, seq); })
      .def("attention_text", [](const PyRun& r, int64_t seq) { return attention_text(r.rec, seq); })
      .def("verdict_line", [](const PyRun& r) { return r.rec.verdict.line(r.rec.corpus); })
      .def("loss_levels_text", [](const PyRun& r) { return loss_levels_text(r.rec.corpus, r.rec.levels); })
      .def("save", [](const PyRun& r, const std::string& dir) { writing([&] { write_run_dir(dir, r.rec, r.weights, r.dump); }); })
      .def("report", [](const PyRun& r) { py::gil_scoped_release nogil; return run_report_html(r.rec); })
      .def("loss_svg", [](const PyRun& r) { return run_loss_figure(r.rec); })
      .def("attention_svg", [](const PyRun& r) { return run_attention_figure(r.rec); })
      .def("snapshot_svg", [](const PyRun& r) { return run_snapshot_figure(r.rec); })
      .def("share_svg", [](const PyRun& r) { return run_share_figure(r.rec); });

  py::class_<SweepData, std::shared_ptr<SweepData>>(m, "SweepData")
      .def_property_readonly("runs_csv", [](const SweepData& d) { return runs_csv(d.config, d.runs); })
      .def_property_readonly("summary_csv",
                             [](const SweepData& d) { return summary_csv(d.config, summarize(d.config, d.runs)); })
      .def_property_readonly("timing_csv", [](const SweepData& d) { return timing_csv(d.config, d.runs); })
      .def_property_readonly("sweep_json", [](const SweepData& d) { return sweep_json(d).dump(); })
      .def("summary_table", [](const SweepData& d) { return summary_table(d); })
      .def("save", [](const SweepData& d, const std::string& dir) { writing([&] { write_sweep_dir(dir, d); }); })
      .def("report", [](const SweepData& d) { py::gil_scoped_release nogil; return sweep_report_html(d); })
      .def("loss_svg", [](const SweepData& d) { return sweep_loss_figure(d); })
      .def("rate_svg", [](const SweepData& d) { return sweep_rate_figure(d); });

  m.def("train", &train_run, py::arg("args"), py::arg("sentences") = py::none(),
        "train with `toyformer train` flags (['--H=20', ...]); the GIL is released while it trains");
  m.def("sweep", &sweep_runs, py::arg("args"), py::arg("sentences") = py::none(),
        "sweep with `toyformer sweep` flags; the GIL is released while it trains");
  m.def("attend", &attend_problem, py::arg("fields"),
        "an attend problem (queries, keys, ... as arrays; heads; mask; tokens as JSON): (JSON of the scalar fields, "
        "dict of arrays)");
  m.def("load", [](const std::string& path) {
    NpzArrays a;
    {
      py::gil_scoped_release nogil;
      a = load_npz(path);
    }
    return to_dict(a);
  }, py::arg("path"));
  // The names of the model the train flags `args` describe (the notebook's with none): --heads 2 -> L0/Qmat, ...
  auto arch_of = [](const std::vector<std::string>& args) {
    ToyArch a;
    CLI::App app("toyformer train", "train");
    app::add_arch_flags(&app, a);
    parse_flags(app, args);
    a.validate();
    return a;
  };
  m.def("layer_names", [arch_of](const std::vector<std::string>& args) { return toy_layer_names(arch_of(args)); },
        py::arg("args") = std::vector<std::string>{});
  m.def("weight_names", [arch_of](const std::vector<std::string>& args) { return toy_weight_names(arch_of(args)); },
        py::arg("args") = std::vector<std::string>{});
  m.def("outcome_rules", [] { return std::string(app::kOutcomeRules); });
}
