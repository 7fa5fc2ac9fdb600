// .npz I/O: round trips, archives written by numpy (tests/fixtures/npz, see make_fixtures.py), refusals, atomicity.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/backend.h"
#include "core/error.h"
#include "core/npz.h"
#include "tests/gpu_guard.h"

using namespace toy;
namespace fs = std::filesystem;

namespace {

const std::string kNpzDir = std::string(TOY_FIXTURES_DIR) + "/npz/";

// A fresh scratch directory per test case, removed at the end.
struct ScratchDir {
  fs::path dir;
  explicit ScratchDir(const std::string& tag) {
    dir = fs::temp_directory_path() / ("toy_npz_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// doctest::Contains wants a C string; keep a copy of the std::string alive.
doctest::Contains has(const std::string& s) { return doctest::Contains(s.c_str()); }

const Tensor* find(const NpzArrays& a, const std::string& name) {
  for (const auto& [n, t] : a)
    if (n == name) return &t;
  return nullptr;
}

void check_values(const Tensor& t, const Shape& shape, const std::vector<float>& want) {
  REQUIRE(t.shape() == shape);
  std::vector<float> got = t.to_vector();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == want[i]);
  }
}

std::vector<float> iota(int64_t n, float start = 0.0f, float step = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("npz/round trip: shapes, scalar, empty, names with '/' and '@', order kept") {
  ScratchDir tmp("roundtrip");
  NpzArrays in;
  in.emplace_back("scalar", Tensor::scalar(-2.5f));
  in.emplace_back("vec", Tensor::from(Shape{5}, iota(5, -1.0f, 0.5f)));
  in.emplace_back("grad/param/Qmat", Tensor::from(Shape{3, 4}, iota(12, 0.1f, 0.3f)));
  in.emplace_back("AttnWts@epochs", Tensor::from(Shape{2, 5, 7}, iota(70, 3.0f, -0.125f)));
  in.emplace_back("six", Tensor::from(Shape{1, 2, 1, 3, 1, 2}, iota(12, 1e-30f, 7.0f)));
  in.emplace_back("empty", Tensor::zeros(Shape{0, 3}));
  in.emplace_back("extremes", Tensor::from(Shape{4}, {3.4e38f, -1e-45f, 0.0f, -0.0f}));
  std::string path = tmp.file("a.npz");
  save_npz(path, in);

  NpzArrays out = load_npz(path);
  REQUIRE(out.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO("array " << in[i].first);
    CHECK(out[i].first == in[i].first);
    check_values(out[i].second, in[i].second.shape(), in[i].second.to_vector());
    CHECK(out[i].second.device() == Device::CPU);
  }
  CHECK(load_npz_array(path, "AttnWts@epochs").shape() == Shape{2, 5, 7});
  CHECK(load_npz_array(path, "scalar").item() == -2.5f);
  CHECK(files_in(tmp.dir) == std::vector<std::string>{"a.npz"});  // no temporary left behind

  // No arrays: numpy's empty archive (end-of-central-directory record only), which reads back as nothing.
  save_npz(tmp.file("none.npz"), {});
  CHECK(fs::file_size(tmp.file("none.npz")) == 22);
  CHECK(load_npz(tmp.file("none.npz")).empty());
}

TEST_CASE("npz/reads np.savez and np.savez_compressed: f8, i8, i4, i2, u1, f2, bool, scalar, Fortran order") {
  for (const char* file : {"savez.npz", "savez_compressed.npz"}) {
    INFO(file);
    NpzArrays a = load_npz(kNpzDir + file);
    std::vector<std::string> names;
    for (const auto& [n, t] : a) names.push_back(n);
    CHECK(names == std::vector<std::string>{"f8", "i8", "i4", "i2", "u1", "f2", "b", "scalar", "empty", "fortran",
                                            "fortran3", "grad/param/Qmat", "AttnWts@epochs"});
    check_values(*find(a, "f8"), Shape{2, 3}, {-0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 0.75f});
    check_values(*find(a, "i8"), Shape{4}, {-3, 0, 7, 1099511627776.0f});
    check_values(*find(a, "i4"), Shape{2, 2, 2}, iota(8, -4.0f));
    check_values(*find(a, "i2"), Shape{3}, {-32768, 1, 32767});
    check_values(*find(a, "u1"), Shape{3}, {0, 1, 255});
    check_values(*find(a, "f2"), Shape{3}, {1.5f, -2.0f, 65504.0f});
    check_values(*find(a, "b"), Shape{3}, {1, 0, 1});
    check_values(*find(a, "scalar"), Shape{}, {3.25f});
    check_values(*find(a, "empty"), Shape{0, 3}, {});
    // Stored column-major, read back so that [i][j] matches numpy's a[i, j].
    check_values(*find(a, "fortran"), Shape{3, 4}, iota(12));
    check_values(*find(a, "fortran3"), Shape{2, 3, 4}, iota(24));
    check_values(*find(a, "grad/param/Qmat"), Shape{2, 2}, {1, 2, 3, 4});
    check_values(*find(a, "AttnWts@epochs"), Shape{2}, {0.125f, -1.0f});
  }
}

TEST_CASE("npz/reads .npy header versions 1.0 and 2.0") {
  NpzArrays a = load_npz(kNpzDir + "npy_v2.npz");
  REQUIRE(a.size() == 2);
  check_values(*find(a, "v2"), Shape{1, 3}, {1, 2, 3});
  check_values(*find(a, "v1"), Shape{1}, {4});
}

TEST_CASE("npz/load_npz_array: one array by name, a missing name lists the available ones") {
  check_values(load_npz_array(kNpzDir + "savez_compressed.npz", "grad/param/Qmat"), Shape{2, 2}, {1, 2, 3, 4});
  CHECK_THROWS_WITH_AS(load_npz_array(kNpzDir + "npy_v2.npz", "nope"),
                       has("has no array 'nope' (available: v2, v1)"), Error);
  CHECK_THROWS_WITH_AS(load_npz_array(kNpzDir + "complex.npz", "z"),
                       has("entry 'z.npy': unsupported dtype '<c8' (complex)"), Error);
}

TEST_CASE("npz/errors: missing file, directory, empty file, garbage, truncated zip") {
  ScratchDir tmp("errors");
  std::string missing = tmp.file("missing.npz");
  CHECK_THROWS_WITH_AS(load_npz(missing), has("load_npz: '" + missing + "': no such file"), Error);
  CHECK_THROWS_WITH_AS(load_npz_array(missing, "x"), has("no such file"), Error);
  CHECK_THROWS_WITH_AS(load_npz(tmp.dir.string()), has("is a directory"), Error);

  spit(tmp.file("empty.npz"), "");
  CHECK_THROWS_WITH_AS(load_npz(tmp.file("empty.npz")), has("empty file, not a zip archive"), Error);

  std::string garbage = tmp.file("garbage.npz");
  spit(garbage, "this is not a zip archive at all, just some text that goes on for a while\n");
  CHECK_THROWS_WITH_AS(load_npz(garbage), has("'" + garbage + "': not a zip archive"), Error);

  // Cut a real archive in half: the central directory is gone.
  std::string whole = slurp(kNpzDir + "savez.npz");
  REQUIRE(whole.size() > 1000);
  std::string cut = tmp.file("cut.npz");
  spit(cut, whole.substr(0, whole.size() / 2));
  CHECK_THROWS_WITH_AS(load_npz(cut), has("'" + cut + "': not a zip archive (or a truncated one"),
                       Error);
  // Cut just the last byte (inside the end-of-central-directory record).
  spit(cut, whole.substr(0, whole.size() - 1));
  CHECK_THROWS_AS(load_npz(cut), Error);

  // Corrupt one data byte of a stored entry: the CRC check refuses it.
  std::string bad = whole;
  size_t at = bad.find("\x93NUMPY");
  REQUIRE(at != std::string::npos);
  size_t data = bad.find('\n', at) + 1;  // first byte after the f8 header
  bad[data] = static_cast<char>(bad[data] ^ 0x55);
  spit(tmp.file("crc.npz"), bad);
  CHECK_THROWS_WITH_AS(load_npz(tmp.file("crc.npz")), has("entry 'f8.npy': cannot read the entry"),
                       Error);
}

TEST_CASE("npz/errors: not .npy, bad magic, unsupported dtype, big-endian, structured, truncated data") {
  auto refused = [](const std::string& file, const std::string& what) {
    INFO(file);
    CHECK_THROWS_WITH_AS(load_npz(kNpzDir + file), has(what), Error);
    CHECK_THROWS_WITH_AS(load_npz(kNpzDir + file), has("load_npz: '" + kNpzDir + file + "': entry '"),
                         Error);
  };
  refused("not_npy.npz", "entry 'notes.txt': not a .npy array");
  refused("bad_magic.npz", "entry 'x.npy': not a .npy array (bad magic");
  refused("complex.npz", "unsupported dtype '<c8'");
  refused("big_endian.npz", "entry 'be.npy': big-endian dtype '>f4' is not supported");
  refused("structured.npz", "unsupported dtype: 'descr' is a list (structured dtypes are not supported)");
  refused("truncated_data.npz",
          "entry 'x.npy': truncated data: shape (10,) of '<f4' needs 40 bytes of data, the entry holds 32");
}

TEST_CASE("npz/save refuses empty and duplicate names and undefined tensors, naming the file") {
  ScratchDir tmp("refuse");
  std::string path = tmp.file("r.npz");
  Tensor t = Tensor::from(Shape{2}, {1, 2});
  CHECK_THROWS_WITH_AS(save_npz(path, {{"a", t}, {"a", t}}),
                       has("save_npz: '" + path + "': duplicate array name 'a'"), Error);
  CHECK_THROWS_WITH_AS(save_npz(path, {{"", t}}), has("empty name"), Error);
  CHECK_THROWS_WITH_AS(save_npz(path, {{"a", t}, {"u", Tensor()}}),
                       has("array 'u' is an undefined tensor"), Error);
  CHECK(files_in(tmp.dir).empty());
}

TEST_CASE("npz/errors: two arrays of the same name are refused by both readers, naming file and array") {
  // save_npz refuses duplicates, so write "Qmat" and "Kmat" and rename the second in place: the names have the same
  // length and the entries are stored (the CRC covers the data only), so the archive stays valid.
  ScratchDir tmp("dup");
  const std::string path = tmp.file("dup.npz");
  save_npz(path, {{"Qmat", Tensor::from(Shape{2}, {1, 2})}, {"Kmat", Tensor::from(Shape{2}, {3, 4})}});
  std::string bytes = slurp(path);
  size_t renamed = 0;
  for (size_t at = bytes.find("Kmat.npy"); at != std::string::npos; at = bytes.find("Kmat.npy", at + 1), ++renamed)
    bytes.replace(at, 4, "Qmat");
  REQUIRE(renamed == 2);  // the local header and the central directory
  spit(path, bytes);
  const std::string says = "'" + path + "': array 'Qmat' occurs twice (entries 0 and 1";
  CHECK_THROWS_WITH_AS(load_npz(path), has("load_npz: " + says), Error);
  CHECK_THROWS_WITH_AS(load_npz_array(path, "Qmat"), has("load_npz_array: " + says), Error);
}

TEST_CASE("npz/int64: '<i8' arrays round-trip exactly past 2^24 and 2^53, beside float32 ones") {
  ScratchDir tmp("int64");
  const std::string path = tmp.file("i.npz");
  const std::vector<int64_t> big{0, -1, (int64_t{1} << 24) + 1, (int64_t{1} << 53) + 1, INT64_MAX, INT64_MIN};
  NpzInt64Arrays ints{{"count", NpzInt64{{}, {16777217}}}, {"big", NpzInt64{{2, 3}, big}},
                      {"none", NpzInt64{{0}, {}}}};
  save_npz(path, {{"f", Tensor::from(Shape{2}, {1.5f, -2})}}, ints);

  NpzInt64Arrays back;
  NpzArrays floats = load_npz(path, &back);
  REQUIRE(floats.size() == 1);
  check_values(floats[0].second, Shape{2}, {1.5f, -2});
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < ints.size(); ++i) {
    INFO(ints[i].first);
    CHECK(back[i].first == ints[i].first);
    CHECK(back[i].second.dims == ints[i].second.dims);
    CHECK(back[i].second.values == ints[i].second.values);
  }
  // The float reader still reads them, rounded to float32 as it reads any '<i8'.
  NpzArrays all = load_npz(path);
  REQUIRE(all.size() == 4);
  CHECK(find(all, "count")->shape() == Shape{});
  CHECK(find(all, "count")->item() == 16777216.0f);

  // The entry is what numpy's np.save writes for np.array([...], dtype='<i8'): the same header, padded to 64 bytes.
  const std::string bytes = slurp(path);
  const std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }";
  const size_t at = bytes.find(header);
  REQUIRE(at != std::string::npos);
  CHECK(bytes.substr(at - 10, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const size_t hl = static_cast<unsigned char>(bytes[at - 2]) | (static_cast<unsigned char>(bytes[at - 1]) << 8);
  CHECK((10 + hl) % 64 == 0);
  CHECK(bytes[at - 10 + 10 + hl - 1] == '\n');

  // numpy's own '<i8' (tests/fixtures/npz/savez.npz, savez_compressed.npz): exact, 2^40 included.
  for (const char* file : {"savez.npz", "savez_compressed.npz"}) {
    INFO(file);
    NpzInt64Arrays np;
    NpzArrays rest = load_npz(kNpzDir + file, &np);
    REQUIRE(np.size() == 1);
    CHECK(np[0].first == "i8");
    CHECK(np[0].second.dims == std::vector<int64_t>{4});
    CHECK(np[0].second.values == std::vector<int64_t>{-3, 0, 7, 1099511627776});
    CHECK(find(rest, "i8") == nullptr);
    CHECK(find(rest, "i4") != nullptr);
  }

  CHECK_THROWS_WITH_AS(save_npz(path, {{"a", Tensor::zeros(Shape{1})}}, {{"a", NpzInt64{{1}, {1}}}}),
                       has("duplicate array name 'a'"), Error);
  CHECK_THROWS_WITH_AS(save_npz(path, {}, {{"n", NpzInt64{{3}, {1, 2}}}}),
                       has("int64 array 'n': shape (3,) does not hold its 2 values"), Error);
}

TEST_CASE("npz/load_npz_bytes: an archive in memory reads as the file does, errors name the label") {
  ScratchDir tmp("bytes");
  const std::string path = tmp.file("m.npz");
  save_npz(path, {{"x", Tensor::from(Shape{3}, {1, 2, 3})}}, {{"n", NpzInt64{{1}, {7}}}});
  const std::string bytes = slurp(path);
  NpzInt64Arrays ints;
  NpzArrays a = load_npz_bytes(bytes, "mem", &ints);
  REQUIRE(a.size() == 1);
  check_values(a[0].second, Shape{3}, {1, 2, 3});
  REQUIRE(ints.size() == 1);
  CHECK(ints[0].second.values == std::vector<int64_t>{7});
  CHECK(load_npz_bytes(bytes, "mem").size() == 2);
  CHECK_THROWS_WITH_AS(load_npz_bytes("", "mem"), has("load_npz: 'mem': empty file"), Error);
  CHECK_THROWS_WITH_AS(load_npz_bytes("not a zip at all, just text", "mem"), has("load_npz: 'mem': not a zip archive"),
                       Error);
  CHECK_THROWS_WITH_AS(load_npz_bytes(bytes.substr(0, bytes.size() / 2), "mem"), has("load_npz: 'mem': "), Error);
}

TEST_CASE("npz/atomic: a missing directory throws and leaves nothing, a failure keeps the old file, overwrite "
          "replaces fully") {
  ScratchDir tmp("atomic");
  Tensor small = Tensor::from(Shape{2}, {1, 2});

  std::string nodir = tmp.file("no/such/dir/x.npz");
  CHECK_THROWS_WITH_AS(save_npz(nodir, {{"a", small}}),
                       has("save_npz: '" + nodir + "': cannot create the temporary file"), Error);
  CHECK(files_in(tmp.dir).empty());

  // Big archive first, then a small one over it: only the small one's arrays and bytes remain.
  std::string path = tmp.file("ckpt.npz");
  NpzArrays big;
  for (int i = 0; i < 8; ++i) big.emplace_back("w" + std::to_string(i), Tensor::full(Shape{64, 64}, float(i)));
  save_npz(path, big);
  auto big_size = fs::file_size(path);
  save_npz(path, {{"only", small}});
  NpzArrays back = load_npz(path);
  REQUIRE(back.size() == 1);
  CHECK(back[0].first == "only");
  check_values(back[0].second, Shape{2}, {1, 2});
  save_npz(tmp.file("fresh.npz"), {{"only", small}});
  CHECK(fs::file_size(path) == fs::file_size(tmp.file("fresh.npz")));
  CHECK(fs::file_size(path) < big_size);

  // A failure before writing (undefined tensor) leaves the existing file as it was.
  std::string before = slurp(path);
  CHECK_THROWS_AS(save_npz(path, {{"x", small}, {"y", Tensor()}}), Error);
  CHECK(slurp(path) == before);

  // A failure at the rename (the target is a directory): the temporary is removed and the directory untouched.
  fs::create_directories(tmp.dir / "taken.npz" / "inside");
  CHECK_THROWS_WITH_AS(save_npz(tmp.file("taken.npz"), {{"a", small}}),
                       has("cannot rename the temporary file"), Error);
  std::vector<std::string> left = files_in(tmp.dir);
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"ckpt.npz", "fresh.npz", "taken.npz"});
  CHECK(fs::is_directory(tmp.dir / "taken.npz" / "inside"));
}

TEST_CASE("npz/save copies device tensors to the host") { TOY_REQUIRE_GPU();
  ScratchDir tmp("device");
  Tensor g = Tensor::from(Shape{2, 3}, iota(6, 0.5f), Device::CUDA);
  save_npz(tmp.file("g.npz"), {{"g", g}});
  check_values(load_npz_array(tmp.file("g.npz"), "g"), Shape{2, 3}, iota(6, 0.5f));
}
