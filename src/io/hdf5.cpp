#include "innmf/io/hdf5.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <fstream>

#include "innmf/core/error.hpp"

namespace innmf::io::h5 {
namespace {

template <typename T>
hid_t native_type();
template <> hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <> hid_t native_type<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t native_type<std::uint64_t>() { return H5T_NATIVE_UINT64; }

Id utf8_string_type() {
  Id type(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check(H5Tset_size(type, H5T_VARIABLE), "H5Tset_size");
  check(H5Tset_cset(type, H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

Id open_attribute(hid_t object, const std::string& name) {
  if (!has_attribute(object, name)) throw InputError(fmt::format("attribute '{}' is missing", name));
  return Id(check(H5Aopen(object, name.c_str(), H5P_DEFAULT), "opening attribute " + name));
}

}  // namespace

Id& Id::operator=(Id&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Id::reset() {
  if (id_ >= 0 && H5Iis_valid(id_) > 0) H5Idec_ref(id_);
  id_ = H5I_INVALID_HID;
}

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

hid_t check(hid_t status, const std::string& what) {
  if (status < 0) throw InputError(what + " failed");
  return status;
}

bool is_hdf5_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char signature[8] = {};
  in.read(signature, 8);
  return in.gcount() == 8 && std::memcmp(signature, "\x89HDF\r\n\x1a\n", 8) == 0;
}

Id create_file(const std::string& path) {
  silence_hdf5_errors();
  return Id(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                  "creating HDF5 file " + path));
}

Id open_file_read(const std::string& path, const std::string& what_to_do) {
  silence_hdf5_errors();
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) throw InputError("HDF5 cannot open it (truncated or corrupt?): " + what_to_do);
  return Id(file);
}

Id create_group(hid_t parent, const std::string& name) {
  return Id(check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                  "creating group " + name));
}

Id open_group(hid_t parent, const std::string& name) {
  if (!exists(parent, name)) throw InputError(fmt::format("group '{}' is missing", name));
  return Id(check(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), "opening group " + name));
}

bool exists(hid_t parent, const std::string& path) {
  // Check every component: H5Lexists fails (rather than answering no) below a missing group.
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const auto end = path.find('/', begin);
    const auto prefix = path.substr(0, end);
    if (!prefix.empty() && H5Lexists(parent, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return true;
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  Id type = utf8_string_type();
  Id space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Id attribute(check(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                     "creating attribute " + name));
  const char* text = value.c_str();
  check(H5Awrite(attribute, type, &text), "writing attribute " + name);
}

void write_attribute(hid_t object, const std::string& name, double value) {
  Id space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Id attribute(check(H5Acreate2(object, name.c_str(), H5T_NATIVE_DOUBLE, space, H5P_DEFAULT,
                                H5P_DEFAULT),
                     "creating attribute " + name));
  check(H5Awrite(attribute, H5T_NATIVE_DOUBLE, &value), "writing attribute " + name);
}

void write_attribute(hid_t object, const std::string& name, std::int64_t value) {
  Id space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Id attribute(check(H5Acreate2(object, name.c_str(), H5T_NATIVE_INT64, space, H5P_DEFAULT,
                                H5P_DEFAULT),
                     "creating attribute " + name));
  check(H5Awrite(attribute, H5T_NATIVE_INT64, &value), "writing attribute " + name);
}

bool has_attribute(hid_t object, const std::string& name) {
  return H5Aexists(object, name.c_str()) > 0;
}

std::string read_string_attribute(hid_t object, const std::string& name) {
  Id attribute = open_attribute(object, name);
  Id stored(check(H5Aget_type(attribute), "H5Aget_type"));
  if (H5Tget_class(stored) != H5T_STRING)
    throw InputError(fmt::format("attribute '{}' is not a string", name));
  if (H5Tis_variable_str(stored) > 0) {
    Id type = utf8_string_type();
    char* text = nullptr;
    check(H5Aread(attribute, type, &text), "reading attribute " + name);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  const std::size_t size = H5Tget_size(stored);
  std::string value(size, '\0');
  check(H5Aread(attribute, stored, value.data()), "reading attribute " + name);
  value.resize(std::strlen(value.c_str()));
  return value;
}

double read_double_attribute(hid_t object, const std::string& name) {
  Id attribute = open_attribute(object, name);
  double value = 0;
  check(H5Aread(attribute, H5T_NATIVE_DOUBLE, &value), "reading attribute " + name);
  return value;
}

std::int64_t read_int_attribute(hid_t object, const std::string& name) {
  Id attribute = open_attribute(object, name);
  std::int64_t value = 0;
  check(H5Aread(attribute, H5T_NATIVE_INT64, &value), "reading attribute " + name);
  return value;
}

template <typename T>
void write_vector(hid_t parent, const std::string& name, const std::vector<T>& values,
                  const std::string& units) {
  const hsize_t dims[1] = {values.size()};
  Id space(check(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
  Id dataset(check(H5Dcreate2(parent, name.c_str(), native_type<T>(), space, H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT),
                   "creating dataset " + name));
  if (!values.empty())
    check(H5Dwrite(dataset, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          "writing dataset " + name);
  if (!units.empty()) write_attribute(dataset, "units", units);
}

void write_matrix(hid_t parent, const std::string& name, const std::vector<float>& values,
                  std::uint64_t rows, std::uint64_t cols, const std::string& units) {
  if (values.size() != rows * cols) throw Error(ExitCode::failure, "write_matrix: size mismatch");
  const hsize_t dims[2] = {rows, cols};
  Id space(check(H5Screate_simple(2, dims, nullptr), "H5Screate_simple"));
  Id dataset(check(H5Dcreate2(parent, name.c_str(), H5T_NATIVE_FLOAT, space, H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT),
                   "creating dataset " + name));
  if (!values.empty())
    check(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          "writing dataset " + name);
  if (!units.empty()) write_attribute(dataset, "units", units);
}

void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values) {
  Id type = utf8_string_type();
  const hsize_t dims[1] = {values.size()};
  Id space(check(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
  Id dataset(check(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT),
                   "creating dataset " + name));
  std::vector<const char*> pointers;
  for (const auto& value : values) pointers.push_back(value.c_str());
  if (!values.empty())
    check(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
          "writing dataset " + name);
}

template <typename T>
std::vector<T> read_vector(hid_t parent, const std::string& name) {
  const auto length = dataset_length(parent, name);
  Id dataset(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name));
  std::vector<T> values(length);
  if (length > 0)
    check(H5Dread(dataset, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          "reading dataset " + name);
  return values;
}

std::vector<std::string> read_strings(hid_t parent, const std::string& name) {
  const auto length = dataset_length(parent, name);
  Id dataset(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name));
  Id type = utf8_string_type();
  std::vector<char*> pointers(length, nullptr);
  if (length > 0)
    check(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
          "reading dataset " + name);
  std::vector<std::string> values;
  for (char* p : pointers) {
    values.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return values;
}

std::uint64_t dataset_length(hid_t parent, const std::string& name) {
  if (!exists(parent, name)) throw InputError(fmt::format("dataset '{}' is missing", name));
  Id dataset(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name));
  Id space(check(H5Dget_space(dataset), "H5Dget_space"));
  if (H5Sget_simple_extent_ndims(space) != 1)
    throw InputError(fmt::format("dataset '{}' is not one-dimensional", name));
  hsize_t dims[1] = {0};
  check(H5Sget_simple_extent_dims(space, dims, nullptr), "H5Sget_simple_extent_dims");
  return dims[0];
}

std::vector<float> read_float_slab(hid_t parent, const std::string& name, std::uint64_t offset,
                                   std::uint64_t count, std::uint64_t stride) {
  const auto length = dataset_length(parent, name);
  if (stride < 1) stride = 1;
  if (count > 0 && offset + (count - 1) * stride + 1 > length)
    throw InputError(fmt::format("dataset '{}' has {} elements, {} requested from {}", name,
                                 length, count, offset));
  Id dataset(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name));
  std::vector<float> values(count);
  if (count == 0) return values;
  Id file_space(check(H5Dget_space(dataset), "H5Dget_space"));
  const hsize_t start[1] = {offset}, step[1] = {stride}, extent[1] = {count};
  check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, step, extent, nullptr),
        "H5Sselect_hyperslab");
  Id memory_space(check(H5Screate_simple(1, extent, nullptr), "H5Screate_simple"));
  check(H5Dread(dataset, H5T_NATIVE_FLOAT, memory_space, file_space, H5P_DEFAULT, values.data()),
        "reading dataset " + name);
  return values;
}

std::uint64_t storage_bytes(hid_t parent, const std::string& name) {
  Id dataset(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name));
  return H5Dget_storage_size(dataset);
}

FloatStreamWriter::FloatStreamWriter(hid_t parent, const std::string& name, std::uint64_t length,
                                     const std::string& units, int compression)
    : length_(length) {
  // 64 Ki floats (256 KiB) a chunk: large enough for deflate, small enough to read one clip's
  // hyperslab without decompressing much else.
  chunk_ = static_cast<std::size_t>(std::clamp<std::uint64_t>(length, 1, 1u << 16));
  const hsize_t dims[1] = {length}, max_dims[1] = {H5S_UNLIMITED}, chunk[1] = {chunk_};
  Id space(check(H5Screate_simple(1, dims, max_dims), "H5Screate_simple"));
  Id properties(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  check(H5Pset_chunk(properties, 1, chunk), "H5Pset_chunk");
  if (compression > 0) {
    check(H5Pset_shuffle(properties), "H5Pset_shuffle");
    check(H5Pset_deflate(properties, static_cast<unsigned>(compression)), "H5Pset_deflate");
  }
  dataset_ = Id(check(H5Dcreate2(parent, name.c_str(), H5T_NATIVE_FLOAT, space, H5P_DEFAULT,
                                 properties, H5P_DEFAULT),
                      "creating dataset " + name));
  if (!units.empty()) write_attribute(dataset_, "units", units);
  pending_.reserve(chunk_);
}

void FloatStreamWriter::append(const float* values, std::size_t count) {
  while (count > 0) {
    if (pending_.empty() && count >= chunk_) {
      // Whole chunks go straight from the caller's buffer.
      const std::size_t whole = count / chunk_ * chunk_;
      write_block(values, whole);
      values += whole;
      count -= whole;
      continue;
    }
    const std::size_t take = std::min(count, chunk_ - pending_.size());
    pending_.insert(pending_.end(), values, values + take);
    values += take;
    count -= take;
    if (pending_.size() == chunk_) {
      write_block(pending_.data(), pending_.size());
      pending_.clear();
    }
  }
}

void FloatStreamWriter::finish() {
  if (!pending_.empty()) write_block(pending_.data(), pending_.size());
  pending_.clear();
  if (written_ != length_)
    throw Error(ExitCode::failure,
                fmt::format("FloatStreamWriter: {} of {} values written", written_, length_));
}

void FloatStreamWriter::write_block(const float* values, std::size_t count) {
  if (written_ + count > length_)
    throw Error(ExitCode::failure, "FloatStreamWriter: more values than the dataset holds");
  Id file_space(check(H5Dget_space(dataset_), "H5Dget_space"));
  const hsize_t start[1] = {written_}, extent[1] = {count};
  check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, extent, nullptr),
        "H5Sselect_hyperslab");
  Id memory_space(check(H5Screate_simple(1, extent, nullptr), "H5Screate_simple"));
  check(H5Dwrite(dataset_, H5T_NATIVE_FLOAT, memory_space, file_space, H5P_DEFAULT, values),
        "writing points");
  written_ += count;
}

template void write_vector<float>(hid_t, const std::string&, const std::vector<float>&, const std::string&);
template void write_vector<double>(hid_t, const std::string&, const std::vector<double>&, const std::string&);
template void write_vector<std::int64_t>(hid_t, const std::string&, const std::vector<std::int64_t>&, const std::string&);
template void write_vector<std::uint64_t>(hid_t, const std::string&, const std::vector<std::uint64_t>&, const std::string&);
template std::vector<float> read_vector<float>(hid_t, const std::string&);
template std::vector<double> read_vector<double>(hid_t, const std::string&);
template std::vector<std::int64_t> read_vector<std::int64_t>(hid_t, const std::string&);
template std::vector<std::uint64_t> read_vector<std::uint64_t>(hid_t, const std::string&);

}  // namespace innmf::io::h5
