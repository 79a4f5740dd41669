// Model files (io/model_file.hpp): classic models round-trip, and every wrong file gives one
// InputError that names it and says what is wrong.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "innmf/core/error.hpp"
#include "innmf/io/hdf5.hpp"
#include "innmf/io/model_file.hpp"
#include "innmf/io/point_file.hpp"
#include "test_util.hpp"

using namespace innmf;
using innmf::testing::TempDir;

namespace {

/// A small classic model: n_fft 8 (5 bins) at 8 kHz, K = 2, 3 frames from two files.
io::ClassicModel small_model() {
  io::ClassicModel m;
  m.header.rank = 2;
  m.header.power = 0.5;
  m.header.beta = 1.0;
  m.header.sample_rate = 8000;
  m.header.f_ref = 4000;
  m.header.config_json = R"({"command":"nmf"})";
  m.n_fft = 8;
  m.hop = 4;
  m.window = "sqrt-hann";
  m.W.resize(5, 2);
  m.W.col(0) = Eigen::VectorXf::LinSpaced(5, 0, 4);  // W(:, 0) = 0 1 2 3 4
  m.W.col(1) = m.W.col(0).array() + 10;               // W(:, 1) = 10 11 12 13 14
  m.freqs = {0, 1000, 2000, 3000, 4000};
  m.H.resize(2, 3);
  m.H << 0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f;
  m.times = {0.0f, 0.0005f, 0.001f};
  m.sources = {"a.wav", "b.wav"};
  m.first_frame = {0, 2};
  m.loss = {2.0, 1.0, 0.5};
  m.seconds = {0.01, 0.02};
  m.converged = true;
  m.seed = 42;
  return m;
}

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

/// A file with the root attributes of a model of `kind` at `version`, and nothing else.
void write_bare_model(const std::string& path, const std::string& kind, std::int64_t version) {
  auto file = io::h5::create_file(path);
  io::h5::write_attribute(file, "format", std::string(io::kModelFormat));
  io::h5::write_attribute(file, "format_version", version);
  io::h5::write_attribute(file, "kind", kind);
  io::h5::write_attribute(file, "rank", std::int64_t{3});
  io::h5::write_attribute(file, "power", 0.5);
  io::h5::write_attribute(file, "beta", 1.0);
  io::h5::write_attribute(file, "sample_rate", 16000.0);
  io::h5::write_attribute(file, "f_ref", 8000.0);
  io::h5::write_attribute(file, "representation", std::string(R"({"kind":"stft"})"));
  io::h5::write_attribute(file, "config", std::string("{}"));
}

}  // namespace

TEST(ModelFile, ClassicModelRoundTrips) {
  TempDir dir;
  const auto written = small_model();
  io::write_classic_model(dir / "m.h5", written);
  EXPECT_EQ(io::peek_format(dir / "m.h5"), "innmf.model");

  const io::ModelFile file(dir / "m.h5");
  EXPECT_EQ(file.kind(), "nmf");
  EXPECT_EQ(file.header().rank, 2);
  EXPECT_DOUBLE_EQ(file.header().power, 0.5);
  EXPECT_DOUBLE_EQ(file.header().sample_rate, 8000);
  EXPECT_DOUBLE_EQ(file.header().f_ref, 4000);
  EXPECT_EQ(file.header().config_json, written.header.config_json);
  EXPECT_NE(file.header().representation_json.find("\"n_fft\":8"), std::string::npos);
  EXPECT_NE(file.header().created_by.find("innmf"), std::string::npos);

  const auto m = file.read_classic();
  EXPECT_EQ(m.n_fft, 8);
  EXPECT_EQ(m.hop, 4);
  EXPECT_EQ(m.window, "sqrt-hann");
  EXPECT_TRUE(m.W == written.W);
  EXPECT_TRUE(m.H == written.H);
  EXPECT_EQ(m.freqs, written.freqs);
  EXPECT_EQ(m.times, written.times);
  EXPECT_EQ(m.sources, written.sources);
  EXPECT_EQ(m.first_frame, written.first_frame);
  EXPECT_EQ(m.loss, written.loss);
  EXPECT_EQ(m.seconds, written.seconds);
  EXPECT_TRUE(m.converged);
  EXPECT_EQ(m.seed, 42u);
}

// The datasets are stored [rows, cols] in C order: W[f, k] is row f, column k, as h5py shows it.
TEST(ModelFile, MatricesAreStoredRowMajorAsHdf5Expects) {
  TempDir dir;
  io::write_classic_model(dir / "m.h5", small_model());
  auto file = io::h5::open_file_read(dir / "m.h5");
  io::h5::Id dataset(H5Dopen2(file, "templates/W", H5P_DEFAULT));
  ASSERT_GE(dataset.get(), 0);
  io::h5::Id space(H5Dget_space(dataset));
  hsize_t dims[2] = {0, 0};
  ASSERT_EQ(H5Sget_simple_extent_ndims(space), 2);
  H5Sget_simple_extent_dims(space, dims, nullptr);
  EXPECT_EQ(dims[0], 5u);
  EXPECT_EQ(dims[1], 2u);
  std::vector<float> raw(10);
  H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
  EXPECT_EQ(raw, (std::vector<float>{0, 10, 1, 11, 2, 12, 3, 13, 4, 14}));
}

TEST(ModelFile, SummaryTellsKindRankAndLoss) {
  TempDir dir;
  io::write_classic_model(dir / "m.h5", small_model());
  const auto summary = io::summarize(io::ModelFile(dir / "m.h5"));
  EXPECT_EQ(summary.n_freqs, 5);
  EXPECT_DOUBLE_EQ(summary.max_frequency, 4000);
  EXPECT_EQ(summary.n_frames, 3);
  EXPECT_EQ(summary.sources, 2u);
  EXPECT_EQ(summary.iterations, 2);
  EXPECT_DOUBLE_EQ(summary.final_loss, 0.5);
  const auto text = io::to_text(summary);
  for (const char* expected : {"kind 'nmf'", "rank            2", "p = 0.5", "β = 1", "5 bins",
                               "3 frames", "final loss 0.5"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " not in\n" << text;
  EXPECT_NE(io::to_json(summary).find("\"kind\": \"nmf\""), std::string::npos);
}

TEST(ModelFile, PointFileIsNotAModel) {
  TempDir dir;
  io::PointSetHeader header;
  header.representation_json = R"({"kind":"stft"})";
  header.config_json = "{}";
  header.clips = {tf::ClipInfo{"a.wav", "a.wav", 8000, 0, 1.0, 0, 2, 0, 0}};
  io::assign_offsets(header.clips);
  io::PointFileWriter writer(dir / "p.h5", header, 0);
  tf::ClipPoints points;
  points.t = {0, 0.5f};
  points.f = {100, 200};
  points.m = {1, 2};
  writer.write_clip(0, points);
  writer.close();
  EXPECT_EQ(io::peek_format(dir / "p.h5"), "innmf.points");
  const auto message = input_error_of([&] { io::ModelFile file(dir / "p.h5"); });
  EXPECT_NE(message.find(dir / "p.h5"), std::string::npos) << message;
  EXPECT_NE(message.find("is an 'innmf.points' file, not a model"), std::string::npos) << message;
  EXPECT_NE(message.find("innmf nmf"), std::string::npos) << message;
}

TEST(ModelFile, MissingAndNonHdf5FilesAreNamed) {
  TempDir dir;
  auto message = input_error_of([&] { io::ModelFile file(dir / "nope.h5"); });
  EXPECT_NE(message.find("nope.h5: no such file"), std::string::npos) << message;
  std::ofstream(dir / "text.h5") << "not hdf5";
  message = input_error_of([&] { io::ModelFile file(dir / "text.h5"); });
  EXPECT_NE(message.find("text.h5: not an HDF5 file"), std::string::npos) << message;
  EXPECT_EQ(io::peek_format(dir / "text.h5"), "");
  EXPECT_EQ(io::peek_format(dir / "nope.h5"), "");
}

TEST(ModelFile, OtherVersionsAndUnknownKindsAreRefused) {
  TempDir dir;
  write_bare_model(dir / "v2.h5", "nmf", 2);
  auto message = input_error_of([&] { io::ModelFile file(dir / "v2.h5"); });
  EXPECT_NE(message.find("version 2"), std::string::npos) << message;

  write_bare_model(dir / "odd.h5", "tensor-factorisation", 1);
  message = input_error_of([&] { io::ModelFile file(dir / "odd.h5"); });
  EXPECT_NE(message.find("odd.h5: model kind 'tensor-factorisation' is unknown"), std::string::npos)
      << message;

  // A known kind opens (kind() tells it) but is not a classic model.
  write_bare_model(dir / "innmf.h5", "innmf", 1);
  const io::ModelFile file(dir / "innmf.h5");
  EXPECT_EQ(file.kind(), "innmf");
  message = input_error_of([&] { file.read_classic(); });
  EXPECT_NE(message.find("is an 'innmf' model, not a classic NMF model"), std::string::npos) << message;
  EXPECT_NE(io::to_text(io::summarize(file)).find("kind 'innmf'"), std::string::npos);
}

TEST(ModelFile, InconsistentShapesAreRefused) {
  TempDir dir;
  auto model = small_model();
  model.n_fft = 16;  // 9 bins, but W has 5 rows
  io::write_classic_model(dir / "bins.h5", model);
  auto message = input_error_of([&] { io::ModelFile(dir / "bins.h5").read_classic(); });
  EXPECT_NE(message.find("bins.h5: /templates/W has 5 rows"), std::string::npos) << message;

  model = small_model();
  model.W(1, 1) = std::nanf("");
  io::write_classic_model(dir / "nan.h5", model);
  message = input_error_of([&] { io::ModelFile(dir / "nan.h5").read_classic(); });
  EXPECT_NE(message.find("non-finite"), std::string::npos) << message;
}
