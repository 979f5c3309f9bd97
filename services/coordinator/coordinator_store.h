// The coordinator's state in SQLite (WAL, under --state DIR): ablations (spec, state), each
// cell's recorded result or failure, the jobs given to workers, and the workers with their
// leases. A cell's result is recorded exactly once: by (ablation, cell) in one transaction, so
// a retried, duplicated or resumed job can never record it twice. Thread-safe (one connection
// behind a mutex: every statement here is short).
#pragma once

#include <sqlite3.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/result_tables.h"

namespace gp {

enum class AblationState { kRunning = 1, kSucceeded = 2, kFailed = 3, kCancelled = 4 };

struct StoredAblation {
  std::string id, request_id, name, spec_json, error;
  AblationState state = AblationState::kRunning;
  int cells_total = 0;
  int64_t created_unix = 0;
  double elapsed_seconds = 0;  // of finished ablations
};

struct StoredWorker {
  std::string id, kind, address;
  int capacity = 1;
  double lease_expires_unix = 0;
};

struct CellFailure {
  std::string cell_id, error;
};

class CoordinatorStore {
 public:
  // Opens (creating) DIR/coordinator.db.
  static absl::StatusOr<std::unique_ptr<CoordinatorStore>> Open(const std::string& state_dir);
  ~CoordinatorStore();

  // Inserts the ablation unless one with this request id exists; returns the one stored, and
  // whether it was created now.
  absl::StatusOr<std::pair<StoredAblation, bool>> CreateAblation(const StoredAblation& ablation);
  absl::StatusOr<std::optional<StoredAblation>> GetAblation(const std::string& id);
  absl::StatusOr<std::vector<StoredAblation>> ListAblations();
  // A failed or cancelled ablation submitted again: running, its failed cells forgotten (they
  // run again), its recorded results kept.
  absl::Status ReopenAblation(const std::string& id);
  absl::Status FinishAblation(const std::string& id, AblationState state, const std::string& error,
                              double elapsed_seconds);

  // True when recorded now; false when the cell had been recorded already (the result given
  // is then dropped).
  absl::StatusOr<bool> RecordCell(const std::string& ablation_id, const CellResult& result);
  absl::StatusOr<bool> RecordCellFailure(const std::string& ablation_id, const std::string& cell_id,
                                         const std::string& error);
  absl::StatusOr<std::map<std::string, CellResult>> CellResults(const std::string& ablation_id);
  absl::StatusOr<std::vector<CellFailure>> CellFailures(const std::string& ablation_id);

  // The job a worker runs for a cell or dataset of an ablation (the latest one given).
  absl::Status RecordJob(const std::string& ablation_id, const std::string& task_id,
                         const std::string& worker, const std::string& job_id,
                         const std::string& state);

  // Registers (or renews, by kind and address) a worker with a lease until `expires_unix`.
  absl::StatusOr<StoredWorker> RegisterWorker(const std::string& kind, const std::string& address,
                                              int capacity, double expires_unix);
  // False when the worker is unknown or its lease had run out (it must register again).
  absl::StatusOr<bool> RenewLease(const std::string& worker_id, double now_unix,
                                  double expires_unix);
  absl::StatusOr<std::vector<StoredWorker>> ListWorkers(const std::string& kind);

 private:
  explicit CoordinatorStore(sqlite3* db) : db_(db) {}
  absl::Status Exec(const std::string& sql);

  std::mutex mutex_;
  sqlite3* db_;
};

double NowUnix();

}  // namespace gp
