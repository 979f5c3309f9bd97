// The report's data reading and inlining (the rendering itself: tests/integration/
// check_report.sh in headless Chromium).
#include "common/report/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace gp {
namespace {

namespace fs = std::filesystem;

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gp_report_" + std::to_string(getpid()));
    fs::create_directories(dir_ / "results");
    fs::create_directories(dir_ / "assets");
    Write("results/results.json", R"({"spec": {"name": "tiny </script> test", "seeds": [1, 2]},
        "cells": [{"cell_id": "a", "model": "m", "test": {"f1": 0.7}, "val": {"f1": 0.6},
                   "history": {"epoch": [1, 2], "val_f1": [0.5, 0.6]},
                   "test_samples": [{"graph_id": 3, "adjacency": [[0, 1], [0, 0]]}]},
                  {"cell_id": "b", "model": "m", "notation": "arrow", "probe": "logreg-head",
                   "control": "", "head_ranking": [{"layer": 1, "head": 2, "val_auc": 0.9}]},
                  {"cell_id": "c", "model": "m", "notation": "arrow", "probe": "logreg-head",
                   "control": "", "head_ranking": [{"layer": 1, "head": 2, "val_auc": 0.7}]},
                  {"cell_id": "d", "model": "m", "notation": "arrow", "probe": "logreg-head",
                   "control": "control-task",
                   "head_ranking": [{"layer": 1, "head": 2, "val_auc": 0.1}]}]})");
    Write("results/summary.csv",
          "model,probe,control,test_f1\nm,gcn,,0.75\nm,gcn,control-task,0.5\n");
    Write("results/attention-m.json", R"({"layers": 1, "heads": 1, "tokens": ["A"]})");
    Write("results/heads-m.csv", "rank,layer,head,mean_val_auc\n1,0,1,0.9\n");
    for (const char* name : {"vega", "vega-lite", "vega-embed"}) {
      Write(std::string("assets/") + name + ".min.js", std::string("var lib_") + name[0] + "=1;");
      Write(std::string("assets/LICENSE-") + name, "BSD-3-Clause text");
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(ReportTest, ReadsTheResultsAndInlinesTheLibraryAndItsLicense) {
  const absl::StatusOr<nlohmann::json> data = ReadReportData(Path("results"));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ((*data)["cells"], 4);
  ASSERT_EQ((*data)["summary"].size(), 2u);
  EXPECT_EQ((*data)["summary"][0]["test_f1"], 0.75);  // numbers stay numbers
  EXPECT_EQ((*data)["summary"][1]["control"], "control-task");
  EXPECT_EQ((*data)["heads"]["m"][0]["head"], 1);
  // Each cell's curve and test graphs travel with its settings; the bulk of a cell does not.
  const nlohmann::json& first = (*data)["cell_details"][0];
  EXPECT_EQ(first["history"]["val_f1"][1], 0.6);
  EXPECT_EQ(first["test_samples"][0]["graph_id"], 3);
  EXPECT_EQ(first["test_f1"], 0.7);
  EXPECT_FALSE(first.contains("val"));
  EXPECT_EQ((*data)["cell_details"].size(), 4u);
  EXPECT_EQ((*data)["attention"]["m"]["tokens"][0], "A");
  // The per-head probe's real-task cells by notation (the control-task cell left out).
  const nlohmann::json& arrow = (*data)["heads_by_notation"]["m"]["arrow"];
  ASSERT_EQ(arrow.size(), 1u);
  EXPECT_EQ(arrow[0]["layer"], 1);
  EXPECT_EQ(arrow[0]["head"], 2);
  EXPECT_DOUBLE_EQ(arrow[0]["mean_val_auc"].get<double>(), 0.8);
  const absl::StatusOr<std::string> html = RenderReport(*data, "tiny", Path("assets"));
  ASSERT_TRUE(html.ok()) << html.status();
  for (const char* inlined : {"var lib_v=1;", "BSD-3-Clause text", "\"test_f1\":0.75"}) {
    EXPECT_NE(html->find(inlined), std::string::npos) << inlined;
  }
  // The spec's name cannot end the data's <script> early.
  EXPECT_EQ(html->find("tiny </script> test"), std::string::npos);
  EXPECT_NE(html->find("tiny <\\/script> test"), std::string::npos);
  EXPECT_EQ(html->find("/*GP_"), std::string::npos);  // every placeholder filled
}

TEST_F(ReportTest, BytesThatAreNotUtf8AreReplacedNotThrown) {
  Write("results/summary.csv", "model,probe\nm\xff\xfe,gcn\n");
  const absl::StatusOr<nlohmann::json> data = ReadReportData(Path("results"));
  ASSERT_TRUE(data.ok()) << data.status();
  const std::string script = ReportDataScript(*data);
  EXPECT_NE(script.find("m\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  EXPECT_EQ(script.find("</"), std::string::npos);
}

TEST_F(ReportTest, BadInputIsAnErrorNamingTheFile) {
  Write("results/summary.csv", "model,probe,test_f1\nm,gcn,0.75\nm,0.5\n");
  absl::Status status = ReadReportData(Path("results")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("summary.csv:3: 2 fields, the header has 3"), std::string::npos)
      << status;
  status = ReadReportData(Path("none")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("none"), std::string::npos) << status;
  Write("results/summary.csv", "model\nm\n");
  Write("results/attention-m.json", "{broken");
  status = ReadReportData(Path("results")).status();
  EXPECT_NE(status.message().find("attention-m.json: not JSON"), std::string::npos) << status;
  fs::remove(dir_ / "results" / "attention-m.json");
  fs::remove(dir_ / "results" / "results.json");
  status = ReadReportData(Path("results")).status();
  EXPECT_NE(status.message().find("results.json: missing"), std::string::npos) << status;
  Write("results/results.json", R"({"spec": {}, "cells": [{}]})");
  fs::remove(dir_ / "assets" / "vega-lite.min.js");
  status = WriteReport(Path("results"), Path("out.html"), Path("assets"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("vega-lite.min.js: not found; fetch the plotting library with "
                                  "`bash scripts/fetch_web_assets.sh"),
            std::string::npos)
      << status;
  EXPECT_FALSE(fs::exists(dir_ / "out.html"));
}

}  // namespace
}  // namespace gp
