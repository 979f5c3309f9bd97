// The coordinator's SQLite state: a cell recorded once whatever repeats it, idempotent
// ablations by request id, leases that run out, and everything read back after a reopen.
#include "services/coordinator/coordinator_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace gp {
namespace {

namespace fs = std::filesystem;

class CoordinatorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gp-store-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    auto store = CoordinatorStore::Open(dir_.string());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<CoordinatorStore> store_;
};

TEST_F(CoordinatorStoreTest, ACellIsRecordedOnce) {
  CellResult result;
  result.cell_id = "m/d/pair-mlp";
  result.test.f1 = 0.75;
  auto first = store_->RecordCell("a1", result);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  result.test.f1 = 0.25;  // a duplicate job's other result
  auto second = store_->RecordCell("a1", result);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  auto failed = store_->RecordCellFailure("a1", result.cell_id, "late failure");
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(*failed);
  // Another ablation's cell of the same id is its own.
  EXPECT_TRUE(*store_->RecordCell("a2", result));

  store_.reset();  // read back after a restart
  store_ = *CoordinatorStore::Open(dir_.string());
  auto cells = store_->CellResults("a1");
  ASSERT_TRUE(cells.ok()) << cells.status();
  ASSERT_EQ(cells->size(), 1u);
  EXPECT_DOUBLE_EQ(cells->at("m/d/pair-mlp").test.f1, 0.75);
  EXPECT_TRUE(store_->CellFailures("a1")->empty());
}

TEST_F(CoordinatorStoreTest, AblationsAreIdempotentByRequestId) {
  StoredAblation a;
  a.id = "id1";
  a.request_id = "req";
  a.name = "first";
  a.spec_json = "{}";
  a.cells_total = 3;
  auto created = store_->CreateAblation(a);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->second);
  a.id = "id2";
  a.name = "second";
  auto again = store_->CreateAblation(a);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->second);
  EXPECT_EQ(again->first.id, "id1");
  EXPECT_EQ(again->first.name, "first");
  ASSERT_TRUE(store_->FinishAblation("id1", AblationState::kCancelled, "cancelled", 1.5).ok());
  auto stored = store_->GetAblation("id1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->state, AblationState::kCancelled);
  EXPECT_EQ(store_->ListAblations()->size(), 1u);
  EXPECT_FALSE(store_->GetAblation("nope")->has_value());
}

TEST_F(CoordinatorStoreTest, LeasesRunOut) {
  auto worker = store_->RegisterWorker("trainer", "127.0.0.1:1", 2, /*expires_unix=*/100);
  ASSERT_TRUE(worker.ok()) << worker.status();
  // Registering again (a restart of the worker) renews the same worker.
  auto again = store_->RegisterWorker("trainer", "127.0.0.1:1", 4, 200);
  EXPECT_EQ(again->id, worker->id);
  EXPECT_TRUE(*store_->RenewLease(worker->id, /*now=*/150, 300));
  EXPECT_FALSE(*store_->RenewLease(worker->id, /*now=*/301, 400));  // ran out: register again
  EXPECT_FALSE(*store_->RenewLease("unknown", 0, 1));
  auto workers = store_->ListWorkers("trainer");
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].capacity, 4);
  EXPECT_DOUBLE_EQ((*workers)[0].lease_expires_unix, 300);
  EXPECT_TRUE(store_->ListWorkers("features")->empty());
  EXPECT_EQ(store_->ListWorkers("")->size(), 1u);
}

TEST(CoordinatorStoreOpenTest, AnUnwritableDirectoryIsAnError) {
  auto store = CoordinatorStore::Open("/proc/graphprobe-state");
  EXPECT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/proc/graphprobe-state"), std::string::npos)
      << store.status();
}

// A state file that is not SQLite (a bad volume, a wrong path) is refused naming the file,
// and left as it was for whoever looks into it.
TEST(CoordinatorStoreOpenTest, AFileThatIsNotADatabaseIsNamed) {
  const fs::path dir = fs::temp_directory_path() / ("gp-store-bad-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string garbage(4096, 'x');
  { std::ofstream(dir / "coordinator.db", std::ios::binary) << garbage; }
  auto store = CoordinatorStore::Open(dir.string());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find((dir / "coordinator.db").string()), std::string::npos)
      << store.status();
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos) << store.status();
  std::ifstream in(dir / "coordinator.db", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), garbage);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gp
