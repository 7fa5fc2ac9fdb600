// NumPy .npz I/O with libzip: a .npy writer ('<f4', C order), a .npy reader (several dtypes, header versions
// 1-3, Fortran order) and a small parser for the header's Python dict literal.
#include "core/npz.h"

#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_map>

#include <fmt/ranges.h>

#include "core/atomic_file.h"
#include "core/error.h"

namespace toy {
namespace {

// .npy stores little-endian data and we copy bytes straight into floats.
static_assert(std::endian::native == std::endian::little, "npz: a little-endian host is assumed");

constexpr char kMagic[] = "\x93NUMPY";  // 6 bytes, then major and minor version bytes
constexpr size_t kMagicLen = 6;
constexpr size_t kMaxHeaderLen = 1 << 20;  // a sane header is < 200 bytes; refuse absurd lengths early

// A header character for an error message: itself if printable, else \xNN.
std::string show(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isprint(u) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
}

// ---------------------------------------------------------------------------------------------------------------
// The header's Python literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 5, 7), }

struct PyLiteral {
  enum class Kind { Str, Int, Bool, None, Tuple, List, Dict };
  Kind kind = Kind::None;
  std::string str;
  int64_t num = 0;
  bool flag = false;
  std::vector<PyLiteral> items;   // Tuple, List, Dict values
  std::vector<std::string> keys;  // Dict keys (only string keys are accepted)

  const PyLiteral* get(std::string_view key) const {
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &items[i];
    return nullptr;
  }
};

const char* kind_name(PyLiteral::Kind k) {
  switch (k) {
    case PyLiteral::Kind::Str: return "a string";
    case PyLiteral::Kind::Int: return "an integer";
    case PyLiteral::Kind::Bool: return "a bool";
    case PyLiteral::Kind::None: return "None";
    case PyLiteral::Kind::Tuple: return "a tuple";
    case PyLiteral::Kind::List: return "a list";
    case PyLiteral::Kind::Dict: return "a dict";
  }
  return "?";
}

// Recursive descent over the subset numpy writes (and a little more): strings, ints (with Python 2's 'L'),
// True/False/None, tuples, lists and dicts, with trailing commas and any whitespace.
class LiteralParser {
 public:
  explicit LiteralParser(std::string_view text) : t_(text) {}

  PyLiteral parse() {
    PyLiteral v = value(0);
    skip_ws();
    if (p_ < t_.size()) fail("header: unexpected '{}' at offset {}", show(t_[p_]), p_);
    return v;
  }

 private:
  void skip_ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r')) ++p_;
  }
  char peek() {
    skip_ws();
    if (p_ >= t_.size()) fail("header: unexpected end of the dict literal");
    return t_[p_];
  }

  PyLiteral value(int depth) {
    if (depth > 16) fail("header: literal nested too deeply");
    char c = peek();
    if (c == '{') return dict(depth);
    if (c == '(' || c == '[') return sequence(depth);
    if (c == '\'' || c == '"') return string();
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) return integer();
    if (std::isalpha(static_cast<unsigned char>(c))) return name();
    fail("header: unexpected '{}' at offset {}", show(c), p_);
  }

  PyLiteral dict(int depth) {
    PyLiteral d;
    d.kind = PyLiteral::Kind::Dict;
    ++p_;  // '{'
    while (peek() != '}') {
      PyLiteral k = value(depth + 1);
      if (k.kind != PyLiteral::Kind::Str) fail("header: dict key is {}, expected a string", kind_name(k.kind));
      if (peek() != ':') fail("header: expected ':' after key '{}'", k.str);
      ++p_;
      d.keys.push_back(std::move(k.str));
      d.items.push_back(value(depth + 1));
      char c = peek();
      if (c == ',') ++p_;
      else if (c != '}') fail("header: expected ',' or '}}' at offset {}, found '{}'", p_, show(c));
    }
    ++p_;  // '}'
    return d;
  }

  // (a, b), (a,), () and [a, b]; "(a)" is just a parenthesized a, as in Python.
  PyLiteral sequence(int depth) {
    char close = t_[p_] == '(' ? ')' : ']';
    PyLiteral s;
    s.kind = close == ')' ? PyLiteral::Kind::Tuple : PyLiteral::Kind::List;
    ++p_;
    bool comma = false;
    while (peek() != close) {
      s.items.push_back(value(depth + 1));
      char c = peek();
      if (c == ',') {
        ++p_;
        comma = true;
      } else if (c != close) {
        fail("header: expected ',' or '{}' at offset {}, found '{}'", close, p_, show(c));
      }
    }
    ++p_;
    if (s.kind == PyLiteral::Kind::Tuple && s.items.size() == 1 && !comma) return std::move(s.items[0]);
    return s;
  }

  PyLiteral string() {
    char quote = t_[p_++];
    PyLiteral s;
    s.kind = PyLiteral::Kind::Str;
    while (true) {
      if (p_ >= t_.size()) fail("header: unterminated string");
      char c = t_[p_++];
      if (c == quote) break;
      if (c == '\\') {
        if (p_ >= t_.size()) fail("header: unterminated string");
        c = t_[p_++];
      }
      s.str += c;
    }
    return s;
  }

  PyLiteral integer() {
    size_t start = p_;
    bool neg = false;
    if (t_[p_] == '-' || t_[p_] == '+') neg = t_[p_++] == '-';
    if (p_ >= t_.size() || t_[p_] < '0' || t_[p_] > '9') fail("header: malformed number at offset {}", start);
    int64_t v = 0;
    while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') {
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, t_[p_] - '0', &v))
        fail("header: integer at offset {} overflows int64", start);
      ++p_;
    }
    if (p_ < t_.size() && (t_[p_] == 'L' || t_[p_] == 'l')) ++p_;  // Python 2 longs: (2L, 3L)
    PyLiteral n;
    n.kind = PyLiteral::Kind::Int;
    n.num = neg ? -v : v;
    return n;
  }

  PyLiteral name() {
    size_t start = p_;
    while (p_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[p_])) || t_[p_] == '_')) ++p_;
    std::string_view w = t_.substr(start, p_ - start);
    PyLiteral v;
    if (w == "True" || w == "False") {
      v.kind = PyLiteral::Kind::Bool;
      v.flag = w == "True";
    } else if (w == "None") {
      v.kind = PyLiteral::Kind::None;
    } else {
      fail("header: unexpected name '{}'", w);
    }
    return v;
  }

  std::string_view t_;
  size_t p_ = 0;
};

// ---------------------------------------------------------------------------------------------------------------
// dtypes

struct DType {
  char kind = 'f';  // 'f' float, 'i' signed, 'u' unsigned, 'b' bool
  int size = 4;     // bytes per element
};

constexpr const char* kSupportedDtypes = "<f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1";

std::string dtype_hint(char kind) {
  switch (kind) {
    case 'c': return " (complex)";
    case 'U': return " (unicode string)";
    case 'S': case 'a': return " (byte string)";
    case 'O': return " (Python object)";
    case 'V': return " (void / structured)";
    case 'M': return " (datetime64)";
    case 'm': return " (timedelta64)";
    default: return "";
  }
}

DType parse_descr(const std::string& d) {
  auto unsupported = [&](char kind) {
    fail("unsupported dtype '{}'{} (supported: {})", d, dtype_hint(kind), kSupportedDtypes);
  };
  if (d.size() < 3 || std::string_view("<>|=").find(d[0]) == std::string_view::npos)
    unsupported(d.size() >= 2 ? d[1] : 0);
  char order = d[0], kind = d[1];
  int size = 0;
  for (size_t i = 2; i < d.size(); ++i) {
    if (d[i] < '0' || d[i] > '9' || size > 1000) unsupported(kind);
    size = size * 10 + (d[i] - '0');
  }
  bool ok = (kind == 'f' && (size == 2 || size == 4 || size == 8)) ||
            ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
            (kind == 'b' && size == 1);
  if (!ok) unsupported(kind);
  if (order == '>' && size > 1)
    fail("big-endian dtype '{}' is not supported (in numpy: a.astype(a.dtype.newbyteorder('<')))", d);
  if (order == '|' && size > 1) fail("dtype '{}' has no byte order ('|') but {} bytes per element", d, size);
  return DType{kind, size};
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
  return std::bit_cast<float>(bits);
}

template <class T>
void convert(const unsigned char* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(v);
  }
}

void convert_to_float(const DType& dt, const unsigned char* src, float* dst, size_t n) {
  switch (dt.kind) {
    case 'f':
      if (dt.size == 2) {
        for (size_t i = 0; i < n; ++i) {
          uint16_t h;
          std::memcpy(&h, src + 2 * i, 2);
          dst[i] = half_to_float(h);
        }
      } else if (dt.size == 4) {
        std::memcpy(dst, src, n * 4);
      } else {
        convert<double>(src, dst, n);
      }
      return;
    case 'i':
      if (dt.size == 1) convert<int8_t>(src, dst, n);
      else if (dt.size == 2) convert<int16_t>(src, dst, n);
      else if (dt.size == 4) convert<int32_t>(src, dst, n);
      else convert<int64_t>(src, dst, n);
      return;
    case 'u':
      if (dt.size == 1) convert<uint8_t>(src, dst, n);
      else if (dt.size == 2) convert<uint16_t>(src, dst, n);
      else if (dt.size == 4) convert<uint32_t>(src, dst, n);
      else convert<uint64_t>(src, dst, n);
      return;
    case 'b':
      for (size_t i = 0; i < n; ++i) dst[i] = src[i] ? 1.0f : 0.0f;
      return;
  }
}

// Fortran order: element (i0, ..., i{r-1}) sits at i0 + d0*(i1 + d1*(i2 + ...)); walk the C-order output with an
// odometer and keep the Fortran offset in step.
template <class T>
std::vector<T> fortran_to_c(const std::vector<T>& f, const std::vector<int64_t>& dims) {
  int r = static_cast<int>(dims.size());
  if (f.empty() || r < 2) return f;
  std::vector<T> c(f.size());
  std::vector<int64_t> idx(r, 0), stride(r, 1);
  for (int k = 1; k < r; ++k) stride[k] = stride[k - 1] * dims[k - 1];
  int64_t off = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    c[i] = f[static_cast<size_t>(off)];
    for (int k = r - 1; k >= 0; --k) {
      if (++idx[k] < dims[k]) {
        off += stride[k];
        break;
      }
      off -= (dims[k] - 1) * stride[k];
      idx[k] = 0;
    }
  }
  return c;
}

std::string shape_repr(const std::vector<int64_t>& dims) {
  if (dims.size() == 1) return fmt::format("({},)", dims[0]);
  return fmt::format("({})", fmt::join(dims, ", "));
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

struct ZipArchive {
  zip_t* z = nullptr;
  ~ZipArchive() {
    if (z) zip_discard(z);
  }
};

struct ZipEntry {
  zip_file_t* f = nullptr;
  ~ZipEntry() {
    if (f) zip_fclose(f);
  }
  // Read up to n bytes (fewer only at the end of the entry).
  size_t read(void* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      zip_int64_t r = zip_fread(f, static_cast<char*>(buf) + got, n - got);
      if (r < 0) fail("cannot read the entry: {} (corrupt or truncated archive)", zip_file_strerror(f));
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }
};

std::string zip_open_error(int code) {
  zip_error_t ze;
  zip_error_init_with_code(&ze, code);
  std::string msg = zip_error_strerror(&ze);
  zip_error_fini(&ze);
  if (code == ZIP_ER_NOZIP) return "not a zip archive (or a truncated one: no end-of-central-directory record)";
  if (code == ZIP_ER_INCONS) return "inconsistent zip archive (corrupt or truncated): " + msg;
  return msg;
}

// Opens `path` read-only; errors are prefixed with `who: 'path': `.
void open_archive(ZipArchive& a, const char* who, const std::string& path) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) fail("{}: '{}': no such file", who, path);
  if (std::filesystem::is_directory(st)) fail("{}: '{}': is a directory, not an .npz file", who, path);
  if (std::filesystem::is_regular_file(st) && std::filesystem::file_size(path, ec) == 0)
    fail("{}: '{}': empty file, not a zip archive", who, path);
  int err = 0;
  a.z = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (!a.z) fail("{}: '{}': {}", who, path, zip_open_error(err));
}

// Opens an archive held in memory (not copied: `bytes` must outlive `a`).
void open_archive_bytes(ZipArchive& a, const char* who, std::string_view bytes, const std::string& label) {
  if (bytes.empty()) fail("{}: '{}': empty file, not a zip archive", who, label);
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &ze);
  if (!src) {
    std::string m = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    fail("{}: '{}': {}", who, label, m);
  }
  a.z = zip_open_from_source(src, ZIP_RDONLY, &ze);
  if (!a.z) {
    const int code = zip_error_code_zip(&ze);
    zip_error_fini(&ze);
    zip_source_free(src);
    fail("{}: '{}': {}", who, label, zip_open_error(code));
  }
  zip_error_fini(&ze);
}

// Entry name as stored; entries that are directories ("dir/") come back empty.
std::string entry_name(zip_t* z, zip_uint64_t i) {
  const char* n = zip_get_name(z, i, 0);
  if (!n) fail("cannot read the name of entry {}: {}", i, zip_strerror(z));
  std::string s = n;
  if (!s.empty() && s.back() == '/') return {};
  return s;
}

bool ends_with_npy(const std::string& s) { return s.size() >= 4 && s.compare(s.size() - 4, 4, ".npy") == 0; }

// A zip may hold two entries of the same name (np.savez never writes one, but zipfile.ZipFile.writestr can). numpy
// reads the last of them and libzip's name lookup finds the first, so the two readers would silently disagree:
// such an archive is refused, naming the array and both entries.
void refuse_duplicate_names(zip_t* z, const char* who, const std::string& path) {
  std::unordered_map<std::string, zip_int64_t> first;
  const zip_int64_t n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* s = zip_get_name(z, static_cast<zip_uint64_t>(i), 0);
    if (!s || !ends_with_npy(s)) continue;  // unreadable or not an array: the readers report those themselves
    auto [it, fresh] = first.emplace(s, i);
    if (!fresh) {
      const std::string e = s;
      fail("{}: '{}': array '{}' occurs twice (entries {} and {} are both '{}'); numpy would read the last, so the "
           "archive is ambiguous",
           who, path, e.substr(0, e.size() - 4), it->second, i, e);
    }
  }
}

// Reads entry i (a .npy) into a float32 CPU tensor; errors carry only the reason (the caller adds file and entry).
// With `ints`, an int64 entry ('<i8') is read exactly into *ints instead (and *is_int set): the tensor is undefined.
Tensor read_npy(zip_t* z, zip_uint64_t i, NpzInt64* ints = nullptr, bool* is_int = nullptr) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, i, 0, &st) != 0) fail("cannot stat the entry: {}", zip_strerror(z));
  ZipEntry e;
  e.f = zip_fopen_index(z, i, 0);
  if (!e.f) fail("cannot open the entry: {}", zip_strerror(z));

  unsigned char pre[12];
  size_t got = e.read(pre, 10);
  if (got < kMagicLen || std::memcmp(pre, kMagic, kMagicLen) != 0)
    fail("not a .npy array (bad magic: expected \\x93NUMPY)");
  if (got < 10) fail("truncated .npy header");
  int major = pre[6], minor = pre[7];
  size_t prefix = 10, header_len = 0;
  if (major == 1) {
    header_len = pre[8] | (static_cast<size_t>(pre[9]) << 8);
  } else if (major == 2 || major == 3) {
    if (e.read(pre + 10, 2) < 2) fail("truncated .npy header");
    prefix = 12;
    header_len = pre[8] | (static_cast<size_t>(pre[9]) << 8) | (static_cast<size_t>(pre[10]) << 16) |
                 (static_cast<size_t>(pre[11]) << 24);
  } else {
    fail("unsupported .npy format version {}.{} (1.0, 2.0 and 3.0 are read)", major, minor);
  }
  if (header_len > kMaxHeaderLen) fail(".npy header length {} is implausible", header_len);
  std::string text(header_len, '\0');
  if (e.read(text.data(), header_len) < header_len) fail("truncated .npy header");

  PyLiteral h = LiteralParser(text).parse();
  if (h.kind != PyLiteral::Kind::Dict) fail("header is {}, expected a dict", kind_name(h.kind));
  const PyLiteral* descr = h.get("descr");
  const PyLiteral* fortran = h.get("fortran_order");
  const PyLiteral* shape = h.get("shape");
  if (!descr || !fortran || !shape) fail("header lacks 'descr', 'fortran_order' or 'shape': {}", text);
  if (descr->kind != PyLiteral::Kind::Str)
    fail("unsupported dtype: 'descr' is {} (structured dtypes are not supported)", kind_name(descr->kind));
  if (fortran->kind != PyLiteral::Kind::Bool) fail("'fortran_order' is {}, expected a bool", kind_name(fortran->kind));
  if (shape->kind != PyLiteral::Kind::Tuple && shape->kind != PyLiteral::Kind::List)
    fail("'shape' is {}, expected a tuple", kind_name(shape->kind));
  DType dt = parse_descr(descr->str);

  std::vector<int64_t> dims;
  int64_t numel = 1;
  for (const PyLiteral& d : shape->items) {
    if (d.kind != PyLiteral::Kind::Int || d.num < 0) fail("'shape' holds a bad dimension");
    dims.push_back(d.num);
    if (__builtin_mul_overflow(numel, d.num, &numel)) fail("shape {} overflows", shape_repr(dims));
  }
  if (dims.size() > static_cast<size_t>(Shape::kMaxRank))
    fail("rank {} of shape {} exceeds the maximum of {}", dims.size(), shape_repr(dims), Shape::kMaxRank);
  int64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<int64_t>(dt.size), &nbytes)) fail("shape overflows");
  auto size_error = [&](uint64_t have) {
    fail("truncated data: shape {} of '{}' needs {} bytes of data, the entry holds {}", shape_repr(dims), descr->str,
         nbytes, have);
  };
  // Check against the size the archive claims before allocating anything.
  if (st.valid & ZIP_STAT_SIZE) {
    uint64_t have = st.size >= prefix + header_len ? st.size - prefix - header_len : 0;
    if (have < static_cast<uint64_t>(nbytes)) size_error(have);
  }

  Tensor t;
  size_t n = static_cast<size_t>(numel);
  if (ints && dt.kind == 'i' && dt.size == 8) {
    std::vector<unsigned char> raw(static_cast<size_t>(nbytes));
    got = e.read(raw.data(), raw.size());
    if (got < raw.size()) size_error(got);
    std::vector<int64_t> v(n);
    if (n) std::memcpy(v.data(), raw.data(), raw.size());
    if (fortran->flag) v = fortran_to_c(v, dims);
    ints->dims = dims;
    ints->values = std::move(v);
    *is_int = true;
  } else if (dt.kind == 'f' && dt.size == 4 && !(fortran->flag && dims.size() >= 2)) {
    t = Tensor::empty(Shape(dims));  // read straight into the tensor
    got = e.read(t.data(), static_cast<size_t>(nbytes));
    if (got < static_cast<size_t>(nbytes)) size_error(got);
  } else {
    std::vector<unsigned char> raw(static_cast<size_t>(nbytes));
    got = e.read(raw.data(), raw.size());
    if (got < raw.size()) size_error(got);
    std::vector<float> v(n);
    convert_to_float(dt, raw.data(), v.data(), n);
    if (fortran->flag) v = fortran_to_c(v, dims);
    t = Tensor::from(Shape(dims), v);
  }
  // Reading past the end also makes libzip verify the CRC.
  unsigned char extra[64];
  size_t more = e.read(extra, sizeof extra);
  if (more > 0)
    fail("{}{} bytes after the data of shape {} of '{}' (corrupt entry)", more == sizeof extra ? "at least " : "",
         more, shape_repr(dims), descr->str);
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

// The .npy bytes of a C-order array: magic, version, header padded with spaces to a multiple of 64 bytes (as numpy
// does, so the data is aligned), then the raw little-endian values.
template <class T>
std::string npy_bytes(const char* descr, const std::vector<int64_t>& dims, const std::vector<T>& values) {
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape_repr(dims));
  bool v2 = dict.size() + 1 + 10 > 65535;
  size_t prefix = v2 ? 12 : 10;
  size_t total = prefix + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out;
  out.reserve(prefix + dict.size() + values.size() * sizeof(T));
  out.append(kMagic, kMagicLen);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  size_t hl = dict.size();
  for (size_t b = 0; b < (v2 ? 4u : 2u); ++b) out.push_back(static_cast<char>((hl >> (8 * b)) & 0xff));
  out += dict;
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return out;
}

std::string npy_bytes(const Tensor& t) { return npy_bytes("<f4", t.shape().dims(), t.to_vector()); }

// A zip of stored (uncompressed) entries, built in memory with libzip; null for no entries (libzip writes nothing
// at all for an empty archive, numpy writes the bare end-of-central-directory record: see kEmptyZip).
using ZipSource = std::unique_ptr<zip_source_t, decltype(&zip_source_free)>;
const std::string kEmptyZip = std::string("PK\x05\x06", 4) + std::string(18, '\0');

ZipSource build_zip(const std::vector<std::string>& names, const std::vector<std::string>& blobs) {
  ZipSource mem(nullptr, &zip_source_free);
  if (names.empty()) return mem;
  zip_error_t ze;
  zip_error_init(&ze);
  mem.reset(zip_source_buffer_create(nullptr, 0, 0, &ze));
  zip_t* z = mem ? zip_open_from_source(mem.get(), ZIP_TRUNCATE, &ze) : nullptr;
  if (!z) {
    std::string m = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    fail("cannot create an in-memory zip: {}", m);
  }
  zip_error_fini(&ze);
  zip_source_keep(mem.get());  // the archive took a reference: keep the buffer past zip_close to read it out
  auto abort = [&](const std::string& why) {
    zip_discard(z);
    fail("{}", why);
  };
  for (size_t i = 0; i < names.size(); ++i) {
    zip_source_t* s = zip_source_buffer(z, blobs[i].data(), blobs[i].size(), 0);
    if (!s) abort(fmt::format("array '{}': {}", names[i], zip_strerror(z)));
    zip_int64_t idx = zip_file_add(z, (names[i] + ".npy").c_str(), s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(s);
      abort(fmt::format("array '{}': {}", names[i], zip_strerror(z)));
    }
    if (zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0) != 0)
      abort(fmt::format("array '{}': {}", names[i], zip_strerror(z)));
  }
  if (zip_close(z) != 0) abort(fmt::format("cannot build the zip: {}", zip_strerror(z)));
  return mem;
}

// Copies the finished in-memory archive to fd in chunks (no second whole copy in memory).
void write_zip(zip_source_t* mem, int fd, const std::string& tmp) {
  if (!mem) return write_all(fd, kEmptyZip.data(), kEmptyZip.size(), tmp);
  if (zip_source_open(mem) != 0) fail("cannot read back the in-memory zip: {}", zip_error_strerror(zip_source_error(mem)));
  std::vector<char> buf(1 << 20);
  while (true) {
    zip_int64_t r = zip_source_read(mem, buf.data(), buf.size());
    if (r < 0) {
      std::string m = zip_error_strerror(zip_source_error(mem));
      zip_source_close(mem);
      fail("cannot read back the in-memory zip: {}", m);
    }
    if (r == 0) break;
    try {
      write_all(fd, buf.data(), static_cast<size_t>(r), tmp);
    } catch (...) {
      zip_source_close(mem);
      throw;
    }
  }
  zip_source_close(mem);
}

}  // namespace

void save_npz(const std::string& path, const NpzArrays& arrays) { save_npz(path, arrays, {}); }

void save_npz(const std::string& path, const NpzArrays& arrays, const NpzInt64Arrays& int64_arrays) {
  try {
    std::set<std::string> seen;
    std::vector<std::string> names, blobs;
    for (const auto& [name, t] : arrays) {
      if (name.empty()) fail("an array has an empty name");
      if (!seen.insert(name).second) fail("duplicate array name '{}'", name);
      if (!t.defined()) fail("array '{}' is an undefined tensor", name);
      names.push_back(name);
      blobs.push_back(npy_bytes(t));
    }
    for (const auto& [name, a] : int64_arrays) {
      if (name.empty()) fail("an array has an empty name");
      if (!seen.insert(name).second) fail("duplicate array name '{}'", name);
      int64_t numel = 1;
      for (int64_t d : a.dims)
        if (d < 0 || __builtin_mul_overflow(numel, d, &numel)) fail("int64 array '{}' has a bad shape {}", name, shape_repr(a.dims));
      if (a.dims.size() > static_cast<size_t>(Shape::kMaxRank) || numel != static_cast<int64_t>(a.values.size()))
        fail("int64 array '{}': shape {} does not hold its {} values", name, shape_repr(a.dims), a.values.size());
      names.push_back(name);
      blobs.push_back(npy_bytes("<i8", a.dims, a.values));
    }
    // Everything that can fail before touching the disk happens here, so a refusal leaves no file at all.
    ZipSource zip = build_zip(names, blobs);
    blobs = {};  // zip_close copied them into the archive
    write_file_atomic(path, [&](int fd, const std::string& tmp) { write_zip(zip.get(), fd, tmp); });
  } catch (const Error& e) {
    fail("save_npz: '{}': {}", path, e.what());
  }
}

namespace {

NpzArrays read_archive(zip_t* z, const std::string& label, NpzInt64Arrays* ints) {
  refuse_duplicate_names(z, "load_npz", label);
  zip_int64_t n = zip_get_num_entries(z, 0);
  NpzArrays out;
  for (zip_int64_t i = 0; i < n; ++i) {
    std::string entry;
    try {
      entry = entry_name(z, static_cast<zip_uint64_t>(i));
      if (entry.empty()) continue;  // a directory
      if (!ends_with_npy(entry)) fail("not a .npy array (the name does not end in .npy)");
      NpzInt64 iv;
      bool is_int = false;
      Tensor t = read_npy(z, static_cast<zip_uint64_t>(i), ints ? &iv : nullptr, &is_int);
      if (is_int) ints->emplace_back(entry.substr(0, entry.size() - 4), std::move(iv));
      else out.emplace_back(entry.substr(0, entry.size() - 4), std::move(t));
    } catch (const Error& e) {
      fail("load_npz: '{}': entry '{}': {}", label, entry, e.what());
    }
  }
  return out;
}

}  // namespace

NpzArrays load_npz(const std::string& path) { return load_npz(path, nullptr); }

NpzArrays load_npz(const std::string& path, NpzInt64Arrays* int64_arrays) {
  ZipArchive a;
  open_archive(a, "load_npz", path);
  if (int64_arrays) int64_arrays->clear();
  return read_archive(a.z, path, int64_arrays);
}

NpzArrays load_npz_bytes(std::string_view bytes, const std::string& label, NpzInt64Arrays* int64_arrays) {
  ZipArchive a;
  open_archive_bytes(a, "load_npz", bytes, label);
  if (int64_arrays) int64_arrays->clear();
  return read_archive(a.z, label, int64_arrays);
}

Tensor load_npz_array(const std::string& path, const std::string& name) {
  ZipArchive a;
  open_archive(a, "load_npz_array", path);
  refuse_duplicate_names(a.z, "load_npz_array", path);
  std::string entry = name + ".npy";
  zip_int64_t i = zip_name_locate(a.z, entry.c_str(), 0);
  if (i < 0) {
    std::vector<std::string> names;
    zip_int64_t n = zip_get_num_entries(a.z, 0);
    for (zip_int64_t j = 0; j < n; ++j) {
      const char* s = zip_get_name(a.z, static_cast<zip_uint64_t>(j), 0);
      std::string e = s ? s : "";
      if (ends_with_npy(e)) names.push_back(e.substr(0, e.size() - 4));
    }
    fail("load_npz_array: '{}' has no array '{}' (available: {})", path, name,
         names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", ")));
  }
  try {
    return read_npy(a.z, static_cast<zip_uint64_t>(i));
  } catch (const Error& e) {
    fail("load_npz_array: '{}': entry '{}': {}", path, entry, e.what());
  }
}

}  // namespace toy
