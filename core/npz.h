// NumPy .npz I/O: named float32 tensors to and from a zip of .npy entries that numpy.load / np.savez understand.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace toy {

// Named arrays in insertion order (an .npz keeps its entries in the order they were written).
using NpzArrays = std::vector<std::pair<std::string, Tensor>>;

// An int64 array (numpy '<i8'), for counts that float32 cannot hold exactly past 2^24 (a checkpoint's epoch and
// optimizer step). `dims` empty: a scalar, shape (); the product of `dims` is values.size().
struct NpzInt64 {
  std::vector<int64_t> dims;
  std::vector<int64_t> values;
};
using NpzInt64Arrays = std::vector<std::pair<std::string, NpzInt64>>;

// Write `arrays` as `<name>.npy` entries (stored, not compressed) of dtype '<f4' in C order; a rank-0 tensor is
// written with shape (). Names may contain '/' and '@' ("grad/param/Qmat", "AttnWts@epochs"); empty or duplicate
// names are refused. Tensors on another device are copied to the host first.
// Atomic: the archive is built in memory, written to `path + ".tmp.<pid>"` in the same directory, flushed to disk
// and renamed over `path`; on any failure the temporary file is removed, `path` is left as it was, and a
// toy::Error naming the file and the reason is thrown. The whole archive is held in memory while it is built.
void save_npz(const std::string& path, const NpzArrays& arrays);
// The same, plus int64 arrays written as '<i8' after the float32 ones; names must be unique across both lists, and
// each int64 array's dims must multiply to its number of values.
void save_npz(const std::string& path, const NpzArrays& arrays, const NpzInt64Arrays& int64_arrays);

// Read every array of an .npz (np.savez or np.savez_compressed), in the archive's order, as float32 CPU tensors
// named without the ".npy" suffix. Accepted dtypes, converted to float32: '<f4', '<f8', '<f2', '<i2', '<i4',
// '<i8', '<u2', '<u4', '<u8', '|i1', '|u1', '|b1' (bool: 0/1); '=' and '|' byte orders count as little-endian.
// Values that float32 cannot hold exactly (large int64, float64 precision) are rounded to nearest.
// Fortran-order arrays are transposed into C order, so values land at the same (i, j, ...) index as in numpy.
// .npy header versions 1.0, 2.0 and 3.0 are read. Directory entries ("dir/") are skipped.
// Throws toy::Error naming the file (and the entry) for: a missing or unreadable file, a file that is not a zip,
// an entry that is not a .npy (wrong name or bad magic), an unsupported dtype (named), big-endian data, a header
// that does not parse, a rank above Shape::kMaxRank, truncated (or overlong) data, and two entries of the same
// name (numpy would read the last one; both readers refuse the archive rather than pick one).
NpzArrays load_npz(const std::string& path);
// The same, except that arrays of dtype '<i8' are returned exactly, in archive order, in *int64_arrays (not among
// the float32 ones).
NpzArrays load_npz(const std::string& path, NpzInt64Arrays* int64_arrays);
// load_npz of an archive held in memory; `label` stands for the file name in error messages.
NpzArrays load_npz_bytes(std::string_view bytes, const std::string& label, NpzInt64Arrays* int64_arrays = nullptr);

// One array of an .npz by name (without ".npy"); the error lists the available names when it is missing.
Tensor load_npz_array(const std::string& path, const std::string& name);

}  // namespace toy
