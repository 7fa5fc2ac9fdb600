// The engine's side of the CUDA module (cuda/module.h): cuda_backend(), cuda_available(), the device list, the
// allocator's counters and CUDA graphs, each forwarded to libtoyformer_cuda.so, which is opened on first use. A build
// without CUDA has no module: the backend throws, the device list is empty, the counters are zero and CUDA graphs
// refuse to capture, each saying the build has no CUDA backend.
//
// Where the module is looked for, first found wins: $TOYFORMER_CUDA_MODULE (a path: then nowhere else), the folder
// of the binary holding this code (the executable, or the Python extension), its ../lib, and the build tree's copy.
#include "cuda/module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "cuda/graph_capture.h"

namespace toy {
namespace cuda {
namespace {

constexpr const char* kNotBuilt = "toyformer was built without the CUDA backend";

struct Module {
  void* handle = nullptr;
  const ModuleApi* api = nullptr;
  std::string error;  // why there is no module ("" when loaded)
};

#ifdef TOYFORMER_HAS_CUDA
std::string folder_of_this_code() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&folder_of_this_code), &info) == 0 || !info.dli_fname) return "";
  std::string p = info.dli_fname;
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? std::string(".") : p.substr(0, slash);
}

Module open_module() {
  Module m;
  std::vector<std::string> tried;
  if (const char* env = std::getenv("TOYFORMER_CUDA_MODULE"); env && *env) {
    tried.push_back(env);
  } else {
    const std::string here = folder_of_this_code();
    if (!here.empty()) {
      tried.push_back(here + "/libtoyformer_cuda.so");
      tried.push_back(here + "/../lib/libtoyformer_cuda.so");
    }
#ifdef TOYFORMER_CUDA_MODULE_PATH
    tried.push_back(TOYFORMER_CUDA_MODULE_PATH);
#endif
  }
  std::string errors;
  for (const std::string& path : tried) {
    if (!path.empty() && path.find('/') != std::string::npos && access(path.c_str(), F_OK) != 0) {
      errors += (errors.empty() ? "" : "; ") + path + ": no such file";
      continue;
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      errors += (errors.empty() ? "" : "; ") + std::string(e ? e : path + ": cannot be opened");
      continue;
    }
    using Entry = const ModuleApi* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(h, "toyformer_cuda_module"));
    const ModuleApi* api = entry ? entry() : nullptr;
    if (!api || api->abi != kModuleAbi) {
      errors += (errors.empty() ? "" : "; ") + path + ": not a toyformer CUDA module of this build (ABI " +
                std::to_string(api ? api->abi : -1) + ", expected " + std::to_string(kModuleAbi) + ")";
      dlclose(h);
      continue;
    }
    m.handle = h;
    m.api = api;
    return m;
  }
  m.error = "cannot load the CUDA module libtoyformer_cuda.so (" + errors + ")";
  return m;
}
#endif

// The module, opened once (thread-safe); never closed: kernels and the device context live until exit.
const Module& module() {
#ifdef TOYFORMER_HAS_CUDA
  static const Module m = open_module();
#else
  static const Module m{nullptr, nullptr, kNotBuilt};
#endif
  return m;
}

const ModuleApi& api() {
  const Module& m = module();
  if (!m.api) fail("cuda: {}", m.error);
  return *m.api;
}

}  // namespace

void* module_symbol(const char* name) {
  const Module& m = module();
  if (!m.handle) fail("cuda: {}", m.error);
  void* s = dlsym(m.handle, name);
  TOY_CHECK(s, "cuda: the CUDA module has no symbol '{}' (a module from another build?)", name);
  return s;
}

std::vector<DeviceInfo> devices() { return module().api ? api().devices() : std::vector<DeviceInfo>{}; }
MemoryStats memory_stats() { return module().api ? api().memory_stats() : MemoryStats{}; }
void reset_peak_memory() {
  if (module().api) api().reset_peak_memory();
}
void empty_cache() {
  if (module().api) api().empty_cache();
}

// A graph holds the module's graph; it creates one only when a capture begins (a CPU run never needs the module).
struct CudaGraph::Impl {
  void* g = nullptr;
  ~Impl() {
    if (g) api().graph_destroy(g);
  }
  void* get() {
    if (!g) g = api().graph_create();
    return g;
  }
};
CudaGraph::CudaGraph() : impl_(std::make_unique<Impl>()) {}
CudaGraph::~CudaGraph() = default;
void CudaGraph::begin_capture() {
  TOY_CHECK(module().api, "cuda: graph capture needs the CUDA backend: {}", module().error);
  api().graph_begin(impl_->get());
}
void CudaGraph::end_capture() {
  TOY_CHECK(module().api, "cuda: graph capture needs the CUDA backend: {}", module().error);
  api().graph_end(impl_->get());
}
void CudaGraph::replay() {
  TOY_CHECK(module().api, "cuda: graph replay needs the CUDA backend: {}", module().error);
  api().graph_replay(impl_->get());
}
bool CudaGraph::captured() const { return impl_->g && api().graph_captured(impl_->g); }

}  // namespace cuda

Backend& cuda_backend() { return cuda::api().backend(); }

bool cuda_compiled() {
#ifdef TOYFORMER_HAS_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_available() {
  try {
    const cuda::Module& m = cuda::module();
    return m.api && m.api->unavailable_reason()[0] == '\0';
  } catch (...) {
    return false;
  }
}

const char* cuda_unavailable_reason() {
  const cuda::Module& m = cuda::module();
  if (!m.api) return m.error.c_str();
  return m.api->unavailable_reason();
}

}  // namespace toy
