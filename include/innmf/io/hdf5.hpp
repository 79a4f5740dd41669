#pragma once
// A small RAII layer over the HDF5 C API (STYLE.md §12). Every id is owned by an `Id` that
// closes it; every call is checked and a failure throws innmf::InputError naming what failed.
// Files written here open in h5py: strings are variable-length UTF-8, numbers native.

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace innmf::io::h5 {

/// Owns one HDF5 identifier (file, group, dataset, dataspace, attribute, type or property list).
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  ~Id() { reset(); }
  Id(Id&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Id& operator=(Id&& other) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: reads like the C API it wraps
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

/// Stops HDF5 from printing its error stack to stderr (we report errors ourselves). Idempotent.
void silence_hdf5_errors();

/// Throws InputError("<what> failed") when `status` < 0; returns `status`.
hid_t check(hid_t status, const std::string& what);

/// True if `path` starts with the HDF5 signature.
bool is_hdf5_file(const std::string& path);

Id create_file(const std::string& path);  ///< truncates an existing file
/// Opens `path` read-only. A file HDF5 cannot open (cut off, damaged) throws InputError
/// "HDF5 cannot open it (truncated or corrupt?): <what_to_do>", without the path: callers name
/// the file as for every other error of theirs.
Id open_file_read(const std::string& path, const std::string& what_to_do = "restore a copy or write it again");
Id create_group(hid_t parent, const std::string& name);
Id open_group(hid_t parent, const std::string& name);
bool exists(hid_t parent, const std::string& path);

void write_attribute(hid_t object, const std::string& name, const std::string& value);
void write_attribute(hid_t object, const std::string& name, double value);
void write_attribute(hid_t object, const std::string& name, std::int64_t value);
bool has_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);
double read_double_attribute(hid_t object, const std::string& name);
std::int64_t read_int_attribute(hid_t object, const std::string& name);

/// Small 1-D datasets, written whole (contiguous) with a "units" attribute.
template <typename T>
void write_vector(hid_t parent, const std::string& name, const std::vector<T>& values,
                  const std::string& units);
/// A row-major (rows, cols) float32 matrix, written whole.
void write_matrix(hid_t parent, const std::string& name, const std::vector<float>& values,
                  std::uint64_t rows, std::uint64_t cols, const std::string& units);
void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values);
template <typename T>
std::vector<T> read_vector(hid_t parent, const std::string& name);
std::vector<std::string> read_strings(hid_t parent, const std::string& name);

/// Number of elements of a 1-D dataset.
std::uint64_t dataset_length(hid_t parent, const std::string& name);
/// `count` elements of a 1-D float dataset from `offset`, every `stride`-th (a hyperslab read).
std::vector<float> read_float_slab(hid_t parent, const std::string& name, std::uint64_t offset,
                                   std::uint64_t count, std::uint64_t stride = 1);
/// Bytes the dataset occupies in the file (after compression).
std::uint64_t storage_bytes(hid_t parent, const std::string& name);

/// Writes a 1-D float32 dataset of known length sequentially, in whole chunks (shuffle +
/// deflate), buffering the partial chunk: appends of any size, no read-modify-write of chunks.
class FloatStreamWriter {
 public:
  /// `compression` is the deflate level 0–9 (0: no filters).
  FloatStreamWriter(hid_t parent, const std::string& name, std::uint64_t length,
                    const std::string& units, int compression);
  void append(const float* values, std::size_t count);
  /// Flushes the last partial chunk; throws if fewer than `length` values were appended.
  void finish();

 private:
  void write_block(const float* values, std::size_t count);
  Id dataset_;
  std::uint64_t length_ = 0;
  std::uint64_t written_ = 0;
  std::size_t chunk_ = 0;
  std::vector<float> pending_;
};

}  // namespace innmf::io::h5
