// `graphprobe attention` end to end: the file it writes has the reference fixtures' layout and
// values; bad flags and inputs give an exit code and a message, not a crash.
#include "services/cli/attention_command.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/core/json_file.h"
#include "common/graph/prompt.h"
#include "common/model/tensor_io.h"
#include "common/tokenizer/byte_tokenizer_json.h"
#include "services/cli/dataset_command.h"
#include "services/cli/flags.h"
#include "services/cli/tokenize_command.h"
#include "services/cli/train_command.h"
#include "tests/test_data.h"
#include "tests/unit/expect_status.h"

namespace gp {
namespace {

const std::string kModel = std::string(GP_TEST_DATA) + "/hf-reference/models/tiny-gemma2";
const std::string kInput = kModel + "/expected.safetensors";

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()))).string();
}

TEST(AttentionCommandTest, WritesAttentionsAndLogitsInTheFixtureLayout) {
  const std::string out = TempPath("gp_cli_out");
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunAttentionCommand({"--model", kModel, "--input", kInput, "--out", out, "--logits"}),
            0);
  const std::string printed = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(printed.find("gemma2 model: 4 layers x 4 heads (2 kv heads), head_dim 32"),
            std::string::npos);
  EXPECT_NE(printed.find("layer  head  max-prob  entropy  first-token  mean-distance"),
            std::string::npos);

  auto written = ReadTensors(out);
  auto expected = ReadTensors(kInput);
  ASSERT_TRUE(written.ok() && expected.ok());
  const at::Tensor& attentions = written->at("attentions");
  ASSERT_EQ(attentions.sizes(), expected->at("attentions").sizes());
  EXPECT_EQ(attentions.scalar_type(), at::kFloat);
  at::Tensor rows = expected->at("attention_mask").to(at::kFloat).view({1, 2, 1, 24, 1});
  EXPECT_LT(((attentions - expected->at("attentions")).abs() * rows).max().item<double>(), 1e-4);
  EXPECT_EQ(written->at("logits").sizes(), expected->at("logits").sizes());
  std::filesystem::remove(out);
}

// --kernel fused writes the same file: every row captured through the fused pass (Gemma 2
// soft-caps, so there it is the explicit arithmetic over the row capture; model_test holds the
// fused arithmetic itself equal on all three families).
TEST(AttentionCommandTest, TheFusedKernelWritesTheSameMaps) {
  const std::string out = TempPath("gp_cli_fused");
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunAttentionCommand(
                {"--model", kModel, "--input", kInput, "--out", out, "--kernel", "fused"}),
            0);
  ::testing::internal::GetCapturedStdout();
  auto written = ReadTensors(out);
  auto expected = ReadTensors(kInput);
  ASSERT_TRUE(written.ok() && expected.ok());
  const at::Tensor& attentions = written->at("attentions");
  ASSERT_EQ(attentions.sizes(), expected->at("attentions").sizes());
  at::Tensor rows = expected->at("attention_mask").to(at::kFloat).view({1, 2, 1, 24, 1});
  EXPECT_LT(((attentions - expected->at("attentions")).abs() * rows).max().item<double>(), 1e-4);
  std::filesystem::remove(out);
}

TEST(AttentionCommandTest, RandomInitFromAConfigFile) {
  const std::string config =
      std::string(GP_TEST_DATA) + "/hf-reference/models/tiny-llama3/config.json";
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunAttentionCommand({"--model", config, "--random-init", "--seed", "3", "--input",
                                 kInput, "--dtype", "bfloat16"}),
            0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("llama model: 2 layers x 4 heads"),
            std::string::npos);
}

TEST(AttentionCommandTest, BadInvocationsFailWithAMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--model", kModel, "--input", kInput, "--colour"}, "unknown flag --colour"},
      {{"--model", kModel}, "--input is required"},
      {{"--model", kModel, "--input"}, "--input needs a value"},
      {{"--model", kModel, "--input", kModel + "/config.json"}, "safetensors header"},
      {{"--model", kModel, "--input", kModel + "/model.safetensors"}, "missing tensor 'input_ids'"},
      {{"--model", "/nonexistent", "--input", kInput}, "/nonexistent/config.json"},
      {{"--model", kModel, "--input", kInput, "--dtype", "fp8"}, "--dtype 'fp8'"},
      {{"--model", kModel, "--input", kInput, "--kernel", "flash"},
       "--kernel: 'flash' is neither explicit nor fused"},
      {{"--model", kModel, "--input", kInput, "--random-init", "--seed", "x"},
       "--seed 'x' is not an integer"},
  };
  for (const Case& c : cases) {
    ::testing::internal::CaptureStderr();
    EXPECT_NE(RunAttentionCommand(c.args), 0) << c.message;
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find(c.message), std::string::npos) << err;
  }
}

TEST(TokenizeCommandTest, PrintsIdsTokensAndOffsetsAsOneJsonObject) {
  const std::string path = TempPath("gp_tokenizer_json");
  std::ofstream(path) << R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3},
      "merges": ["a b"]}, "added_tokens": [{"id": 3, "content": "<s>", "special": true}],
      "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
      {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [3], "tokens": ["<s>"]}}}})";
  std::istringstream in("aba");
  std::ostringstream out;
  ASSERT_EQ(RunTokenizeCommand({"--tokenizer", path}, in, out), 0);
  EXPECT_EQ(out.str(), R"({"ids":[3,2,0],"tokens":["<s>","ab","a"],"offsets":[[0,0],[0,2],[2,3]]})"
                       "\n");
  std::istringstream again("aba");
  std::ostringstream plain;
  ASSERT_EQ(RunTokenizeCommand({"--tokenizer", path, "--no-special-tokens"}, again, plain), 0);
  EXPECT_EQ(plain.str(), R"({"ids":[2,0],"tokens":["ab","a"],"offsets":[[0,2],[2,3]]})"
                         "\n");

  std::istringstream invalid("a\xff");
  std::ostringstream ignored;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunTokenizeCommand({"--tokenizer", path}, invalid, ignored), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("stdin: invalid UTF-8 at byte 1"),
            std::string::npos);
  std::remove(path.c_str());
}

// A scratch copy of the tiny Qwen2 reference checkpoint with a byte-level tokenizer.json.
std::filesystem::path TinyQwenModelDir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = TempPath(name);
  fs::create_directories(dir);
  const fs::path src = std::string(GP_TEST_DATA) + "/hf-reference/models/tiny-qwen2";
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(src / f, dir / f);
  EXPECT_TRUE(
      WriteJsonFile((dir / "tokenizer.json").string(), ByteLevelTokenizerJson({"<s>"})).ok());
  return dir;
}

TEST(DatasetCommandTest, WritesADatasetAndRejectsBadFlags) {
  namespace fs = std::filesystem;
  const fs::path dir = TinyQwenModelDir("gp_cli_dataset");
  const std::string out = (dir / "data.safetensors").string();
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunDatasetCommand({"--model",
                               dir.string(),
                               "--graphs",
                               "6",
                               "--nodes",
                               "4",
                               "--notation",
                               "parents",
                               "--names",
                               "words",
                               "--mode",
                               "argmax",
                               "--perms",
                               "2",
                               "--both-directions",
                               "--preamble",
                               "A graph:",
                               "--question",
                               "Which node has no parents?",
                               "--out",
                               out}),
            0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find(
                "6 graphs of 4 nodes, mode argmax+both, 2 ordering(s)"),
            std::string::npos);
  auto data = ReadTensors(out);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->at("features").sizes(), (std::vector<int64_t>{6, 4, 4, 3 * 6 * 2}));

  for (const auto& [flag, value, message] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--mode", "softmax", "unknown feature mode 'softmax'"},
           {"--nodes", "99", "graph size 99 outside [2, 64]"},
           {"--notation", "dot", "unknown notation 'dot'"},
           {"--separator", "tab", "--separator 'tab'"},
           // Library errors name fields; the command names its flags.
           {"--graphs", "0", "--graphs 0: must be >= 1"},
           {"--perms", "0", "--perms 0: must be >= 1"},
           // Beyond an int: an error, not 705032704 graphs (the value wrapped).
           {"--graphs", "5000000000", "--graphs 5000000000: too large (at most 2147483647)"},
           {"--seed", "-1", "--seed -1: expected 0..9223372036854775807"},
           {"--degree", "nan", "--degree 'nan': expected a finite number"},
           {"--degree", "-1", "--degree -1: expected >= 0"},
           {"--dtype", "float16", "--dtype 'float16': expected float32 or bfloat16"}}) {
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(
        RunDatasetCommand({"--model", dir.string(), "--graphs", "2", flag, value, "--out", out}),
        2);
    EXPECT_NE(::testing::internal::GetCapturedStderr().find(message), std::string::npos) << message;
  }
  fs::remove_all(dir);
}

TEST(DatasetCommandTest, TheDocumentedExampleWorksOnGraphsWithIsolatedNodes) {
  // As a new user types it: the node header is on by default, so isolated nodes are mentioned.
  namespace fs = std::filesystem;
  const fs::path dir = TinyQwenModelDir("gp_cli_dataset_example");
  const std::string out = (dir / "d.safetensors").string();
  const std::vector<std::string> example = {
      "--model", dir.string(), "--graphs", "40",      "--nodes", "7",      "--generator",
      "dag",     "--notation", "arrow",    "--names", "letters", "--mode", "topk:3",
      "--perms", "2",          "--seed",   "1",       "--out",   out};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunDatasetCommand(example), 0);
  ::testing::internal::GetCapturedStdout();
  auto with_header = ReadTensors(out);
  ASSERT_TRUE(with_header.ok());
  EXPECT_TRUE(at::equal(with_header->at("node_mask"), at::ones({40, 7}, at::kByte)));
  // Without the header, nodes without edges are masked instead of failing the build.
  std::vector<std::string> no_header = example;
  no_header.push_back("--no-header");
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunDatasetCommand(no_header), 0);
  ::testing::internal::GetCapturedStdout();
  auto masked = ReadTensors(out);
  ASSERT_TRUE(masked.ok());
  const at::Tensor adjacency = masked->at("adjacency").to(at::kBool);
  EXPECT_TRUE(at::equal(masked->at("node_mask").to(at::kBool),
                        adjacency.any(2).logical_or(adjacency.any(1))));
  fs::remove_all(dir);
}

TEST(TrainCommandTest, WritesMetricsHistoryModelAndPredictions) {
  namespace fs = std::filesystem;
  const fs::path dir = TempPath("gp_cli_train");
  fs::create_directories(dir);
  // 60 graphs of 5 nodes whose first feature is the adjacency (seeded: the test is the same
  // every run).
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(17);
  at::Tensor adjacency = (at::rand({60, 5, 5}, gen) < 0.3).to(at::kByte).triu(1);
  at::Tensor features = at::randn({60, 5, 5, 4}, gen) * 0.1;
  features.select(3, 0).add_(adjacency.to(at::kFloat));
  at::Tensor split = at::zeros({60}, at::kByte);
  split.narrow(0, 40, 8).fill_(1);
  split.narrow(0, 48, 12).fill_(2);
  const std::string data = (dir / "d.safetensors").string();
  ASSERT_TRUE(WriteTensors(data, {{"features", features},
                                  {"adjacency", adjacency},
                                  {"node_mask", at::ones({60, 5}, at::kByte)},
                                  {"split", split},
                                  {"graph_id", at::arange(60, at::kLong)}})
                  .ok());
  const std::string out = (dir / "run").string();
  ::testing::internal::CaptureStdout();
  ASSERT_EQ(RunTrainCommand({"--data", data, "--probe", "pair-mlp", "--out", out, "--epochs", "30",
                             "--hidden", "16", "--lr", "0.01", "--batch", "16"}),
            0);
  const std::string printed = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(printed.find("truth | predicted"), std::string::npos);
  auto metrics = ReadJsonFile(out + "/metrics.json");
  ASSERT_TRUE(metrics.ok());
  EXPECT_GT((*metrics)["test"]["f1"].get<double>(), 0.9);
  EXPECT_GE((*metrics)["best_epoch"].get<int>(), 1);
  EXPECT_LE((*metrics)["test_interval"]["f1_low"].get<double>(),
            (*metrics)["test"]["f1"].get<double>());
  EXPECT_GE((*metrics)["test_interval"]["f1_high"].get<double>(),
            (*metrics)["test"]["f1"].get<double>());
  for (const char* f : {"training_history.csv", "predictions.safetensors"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  auto model = ReadTensors(out + "/best_model.safetensors");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->at("parameter_0").sizes(), (std::vector<int64_t>{16, 4}));  // 4 -> 16 -> ...
  auto predictions = ReadTensors(out + "/predictions.safetensors");
  ASSERT_TRUE(predictions.ok());
  EXPECT_EQ(predictions->at("probabilities").sizes(), (std::vector<int64_t>{12, 5, 5}));

  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunTrainCommand({"--data", kInput, "--out", out}), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("missing tensor 'features'"),
            std::string::npos);
  for (const auto& [flag, value, message] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--probe", "svm", "--probe 'svm': expected pair-mlp, graph-mlp"},
           {"--epochs", "0", "--epochs 0: expected 1..100000"},
           {"--lr", "-1", "--lr -1: expected (0, 10]"},
           // The trainer service's checks, here too: these were trained on.
           {"--weight-decay", "-1", "--weight-decay -1: expected [0, 10]"},
           {"--layers", "0", "--layers 0: expected 1..16"},
           {"--patience", "-1", "--patience -1: expected 0..100000"},
           {"--pos-weight", "2e6", "--pos-weight 2e+06: expected at most 1e6"},
           {"--control", "shuffle", "--control 'shuffle': expected"}}) {
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(RunTrainCommand({"--data", data, "--out", out, flag, value}), 2) << flag;
    EXPECT_NE(::testing::internal::GetCapturedStderr().find(message), std::string::npos) << message;
  }
  fs::remove_all(dir);
}

TEST(FlagsTest, InlineValuesAndBooleanFlags) {
  std::vector<FlagSpec> specs = {{"a", true, ""}, {"b", false, ""}};
  auto flags = Flags::Parse({"--a=1", "--b"}, specs);
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->Get("a", ""), "1");
  EXPECT_TRUE(flags->Has("b"));
  EXPECT_TRUE(HasStatus(Flags::Parse({"--b=1"}, specs), absl::StatusCode::kInvalidArgument,
                        "--b takes no value"));
  EXPECT_TRUE(HasStatus(Flags::Parse({"positional"}, specs), absl::StatusCode::kInvalidArgument,
                        "unexpected argument 'positional'"));
}

// Numbers are checked where they are read: a value that would wrap in the option's type or
// slip past its range checks (NaN compares false with everything) is an error naming the flag.
TEST(FlagsTest, NumbersOutsideTheirTypeAreErrorsNotWrappedValues) {
  const std::vector<FlagSpec> specs = {
      {"n", true, ""}, {"seed", true, ""}, {"x", true, ""}, {"threads", true, ""}};
  const auto parse = [&](std::vector<std::string> args) {
    auto flags = Flags::Parse(args, specs);
    EXPECT_TRUE(flags.ok());
    return *flags;
  };
  const Flags absent = parse({});
  EXPECT_EQ(*absent.Int32("n", 7), 7);
  EXPECT_EQ(*absent.Seed("seed", 42), 42u);
  EXPECT_EQ(*absent.Double("x", 0.5), 0.5);
  EXPECT_EQ(*CpuThreadsFlag(absent), 0);

  EXPECT_EQ(*parse({"--n", "2147483647"}).Int32("n", 0), 2147483647);
  EXPECT_EQ(*parse({"--n", "-2147483648"}).Int32("n", 0), -2147483647 - 1);
  EXPECT_TRUE(HasStatus(parse({"--n", "2147483648"}).Int32("n", 0),
                        absl::StatusCode::kInvalidArgument,
                        "--n 2147483648: too large (at most 2147483647)"));
  EXPECT_TRUE(HasStatus(parse({"--n", "-2147483649"}).Int32("n", 0),
                        absl::StatusCode::kInvalidArgument,
                        "--n -2147483649: too small (at least -2147483648)"));
  EXPECT_TRUE(HasStatus(parse({"--n", "99999999999999999999"}).Int("n", 0),
                        absl::StatusCode::kInvalidArgument,
                        "--n '99999999999999999999' is out of range"));
  EXPECT_TRUE(HasStatus(parse({"--n", "7x"}).Int32("n", 0), absl::StatusCode::kInvalidArgument,
                        "--n '7x' is not an integer"));

  EXPECT_EQ(*parse({"--seed", "0"}).Seed("seed", 1), 0u);
  EXPECT_EQ(*parse({"--seed", "9223372036854775807"}).Seed("seed", 1), 9223372036854775807u);
  EXPECT_TRUE(HasStatus(parse({"--seed", "-1"}).Seed("seed", 1), absl::StatusCode::kInvalidArgument,
                        "--seed -1: expected 0..9223372036854775807"));

  EXPECT_EQ(*parse({"--x", "-2.5e3"}).Double("x", 0), -2500);
  for (const std::string value : {"nan", "inf", "-inf", "NaN"}) {
    EXPECT_TRUE(HasStatus(parse({"--x", value}).Double("x", 0), absl::StatusCode::kInvalidArgument,
                          "--x '" + value + "': expected a finite number"))
        << value;
  }

  EXPECT_EQ(*CpuThreadsFlag(parse({"--threads", "1024"})), 1024);
  EXPECT_TRUE(HasStatus(CpuThreadsFlag(parse({"--threads", "1025"})),
                        absl::StatusCode::kInvalidArgument, "--threads 1025: expected 0..1024"));
  EXPECT_TRUE(HasStatus(CpuThreadsFlag(parse({"--threads", "-1"})),
                        absl::StatusCode::kInvalidArgument, "--threads -1: expected 0..1024"));
}

TEST(FlagsTest, ListFlagKeepsTheOptionsDefaultUnlessGiven) {
  std::vector<FlagSpec> specs = {{"notations", true, ""}};
  const std::vector<Notation> defaults = {Notation::kArrow, Notation::kParents};
  auto absent = Flags::Parse({}, specs);
  ASSERT_TRUE(absent.ok());
  auto kept = ListFlag(*absent, "notations", defaults, ParseNotation);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, defaults);

  auto given = Flags::Parse({"--notations", "labels,arrow"}, specs);
  ASSERT_TRUE(given.ok());
  auto parsed = ListFlag(*given, "notations", defaults, ParseNotation);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (std::vector<Notation>{Notation::kLabels, Notation::kArrow}));

  auto empty = Flags::Parse({"--notations", ","}, specs);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(HasStatus(ListFlag(*empty, "notations", defaults, ParseNotation),
                        absl::StatusCode::kInvalidArgument, "--notations: none given"));
  auto bad = Flags::Parse({"--notations", "arrow,dot"}, specs);
  ASSERT_TRUE(bad.ok());
  EXPECT_TRUE(HasStatus(ListFlag(*bad, "notations", defaults, ParseNotation),
                        absl::StatusCode::kInvalidArgument, "unknown notation 'dot'"));
}

}  // namespace
}  // namespace gp
