// SQLite statements of the coordinator's state.
#include "services/coordinator/coordinator_store.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/hash.h"
#include "common/core/status.h"

namespace gp {
namespace {

const char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS ablations(
  id TEXT PRIMARY KEY,
  request_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  state INTEGER NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  cells_total INTEGER NOT NULL,
  created_unix INTEGER NOT NULL,
  elapsed_seconds REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS cells(
  ablation_id TEXT NOT NULL,
  cell_id TEXT NOT NULL,
  state TEXT NOT NULL,
  result_json TEXT,
  error TEXT NOT NULL DEFAULT '',
  recorded_unix REAL NOT NULL,
  PRIMARY KEY(ablation_id, cell_id));
CREATE TABLE IF NOT EXISTS jobs(
  ablation_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  worker TEXT NOT NULL,
  job_id TEXT NOT NULL,
  state TEXT NOT NULL,
  updated_unix REAL NOT NULL,
  PRIMARY KEY(ablation_id, task_id));
CREATE TABLE IF NOT EXISTS workers(
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  address TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  lease_expires_unix REAL NOT NULL,
  UNIQUE(kind, address));
)sql";

// A prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    status_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& Bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& Bind(int index, double value) {
    sqlite3_bind_double(stmt_, index, value);
    return *this;
  }
  // True while there is a row; errors end the iteration and are kept for Done().
  bool Step() {
    if (status_ != SQLITE_OK && status_ != SQLITE_ROW) return false;
    const int rc = sqlite3_step(stmt_);
    status_ = rc == SQLITE_DONE ? SQLITE_OK : rc;
    return rc == SQLITE_ROW;
  }
  absl::Status Done() const {
    if (status_ == SQLITE_OK || status_ == SQLITE_ROW) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("coordinator state: ", sqlite3_errmsg(db_)));
  }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? "" : reinterpret_cast<const char*>(text);
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double Real(int column) const { return sqlite3_column_double(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int status_;
};

const char kAblationColumns[] =
    "id, request_id, name, spec_json, state, error, cells_total, created_unix, elapsed_seconds";

StoredAblation AblationOfRow(const Statement& s) {
  StoredAblation a;
  a.id = s.Text(0);
  a.request_id = s.Text(1);
  a.name = s.Text(2);
  a.spec_json = s.Text(3);
  a.state = static_cast<AblationState>(s.Int(4));
  a.error = s.Text(5);
  a.cells_total = static_cast<int>(s.Int(6));
  a.created_unix = s.Int(7);
  a.elapsed_seconds = s.Real(8);
  return a;
}

}  // namespace

double NowUnix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

absl::StatusOr<std::unique_ptr<CoordinatorStore>> CoordinatorStore::Open(
    const std::string& state_dir) {
  std::error_code error;
  std::filesystem::create_directories(state_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", state_dir, ": ", error.message()));
  }
  const std::string path = (std::filesystem::path(state_dir) / "coordinator.db").string();
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    const std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ", message));
  }
  std::unique_ptr<CoordinatorStore> store(new CoordinatorStore(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers never block the writer. synchronous=NORMAL: a committed result survives a crash
  // of the process (SIGKILL, OOM); a power loss may take the last few commits with it, and
  // those cells simply run again (still recorded once). FULL would fsync at every one of the
  // three commits per cell.
  GP_RETURN_IF_ERROR(
      Annotate(store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"), path));
  GP_RETURN_IF_ERROR(Annotate(store->Exec(kSchema), path));
  return store;
}

CoordinatorStore::~CoordinatorStore() { sqlite3_close(db_); }

absl::Status CoordinatorStore::Exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return absl::InternalError(absl::StrCat("coordinator state: ", text));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<StoredAblation, bool>> CoordinatorStore::CreateAblation(
    const StoredAblation& a) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement insert(db_,
                   "INSERT INTO ablations(id, request_id, name, spec_json, state, cells_total, "
                   "created_unix) VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(request_id) DO NOTHING");
  insert.Bind(1, a.id).Bind(2, a.request_id).Bind(3, a.name).Bind(4, a.spec_json);
  insert.Bind(5, static_cast<int64_t>(a.state)).Bind(6, static_cast<int64_t>(a.cells_total));
  insert.Bind(7, a.created_unix);
  insert.Step();
  GP_RETURN_IF_ERROR(insert.Done());
  const bool created = sqlite3_changes(db_) == 1;
  Statement select(
      db_,
      absl::StrCat("SELECT ", kAblationColumns, " FROM ablations WHERE request_id = ?").c_str());
  select.Bind(1, a.request_id);
  if (!select.Step()) {
    GP_RETURN_IF_ERROR(select.Done());
    return absl::InternalError("ablation vanished after its insert");
  }
  return std::make_pair(AblationOfRow(select), created);
}

absl::StatusOr<std::optional<StoredAblation>> CoordinatorStore::GetAblation(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(
      db_, absl::StrCat("SELECT ", kAblationColumns, " FROM ablations WHERE id = ?").c_str());
  select.Bind(1, id);
  if (select.Step()) return std::optional<StoredAblation>(AblationOfRow(select));
  GP_RETURN_IF_ERROR(select.Done());
  return std::optional<StoredAblation>();
}

absl::StatusOr<std::vector<StoredAblation>> CoordinatorStore::ListAblations() {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(
      db_, absl::StrCat("SELECT ", kAblationColumns, " FROM ablations ORDER BY created_unix, id")
               .c_str());
  std::vector<StoredAblation> all;
  while (select.Step()) all.push_back(AblationOfRow(select));
  GP_RETURN_IF_ERROR(select.Done());
  return all;
}

absl::Status CoordinatorStore::FinishAblation(const std::string& id, AblationState state,
                                              const std::string& error, double elapsed_seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement update(db_,
                   "UPDATE ablations SET state = ?, error = ?, elapsed_seconds = ? WHERE id = ?");
  update.Bind(1, static_cast<int64_t>(state)).Bind(2, error).Bind(3, elapsed_seconds).Bind(4, id);
  update.Step();
  return update.Done();
}

absl::Status CoordinatorStore::ReopenAblation(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  GP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Statement forget(db_, "DELETE FROM cells WHERE ablation_id = ? AND state = 'failed'");
  forget.Bind(1, id);
  forget.Step();
  Statement update(db_, "UPDATE ablations SET state = ?, error = '' WHERE id = ?");
  update.Bind(1, static_cast<int64_t>(AblationState::kRunning)).Bind(2, id);
  update.Step();
  const absl::Status status = forget.Done().ok() ? update.Done() : forget.Done();
  if (!status.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return status;
  }
  return Exec("COMMIT");
}

absl::StatusOr<bool> CoordinatorStore::RecordCell(const std::string& ablation_id,
                                                  const CellResult& result) {
  std::lock_guard<std::mutex> lock(mutex_);
  GP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Statement insert(db_,
                   "INSERT INTO cells(ablation_id, cell_id, state, result_json, recorded_unix) "
                   "VALUES(?, ?, 'done', ?, ?) ON CONFLICT(ablation_id, cell_id) DO NOTHING");
  insert.Bind(1, ablation_id).Bind(2, result.cell_id).Bind(3, result.ToJson().dump());
  insert.Bind(4, NowUnix());
  insert.Step();
  const bool recorded = sqlite3_changes(db_) == 1;
  Statement job(db_,
                "UPDATE jobs SET state = 'done', updated_unix = ? WHERE ablation_id = ? AND "
                "task_id = ?");
  job.Bind(1, NowUnix()).Bind(2, ablation_id).Bind(3, result.cell_id);
  job.Step();
  const absl::Status status = insert.Done().ok() ? job.Done() : insert.Done();
  if (!status.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return status;
  }
  GP_RETURN_IF_ERROR(Exec("COMMIT"));
  return recorded;
}

absl::StatusOr<bool> CoordinatorStore::RecordCellFailure(const std::string& ablation_id,
                                                         const std::string& cell_id,
                                                         const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement insert(db_,
                   "INSERT INTO cells(ablation_id, cell_id, state, error, recorded_unix) "
                   "VALUES(?, ?, 'failed', ?, ?) ON CONFLICT(ablation_id, cell_id) DO NOTHING");
  insert.Bind(1, ablation_id).Bind(2, cell_id).Bind(3, error).Bind(4, NowUnix());
  insert.Step();
  GP_RETURN_IF_ERROR(insert.Done());
  return sqlite3_changes(db_) == 1;
}

absl::StatusOr<std::map<std::string, CellResult>> CoordinatorStore::CellResults(
    const std::string& ablation_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(
      db_, "SELECT cell_id, result_json FROM cells WHERE ablation_id = ? AND state = 'done'");
  select.Bind(1, ablation_id);
  std::map<std::string, CellResult> results;
  while (select.Step()) {
    const nlohmann::json json = nlohmann::json::parse(select.Text(1), nullptr, false);
    absl::StatusOr<CellResult> result = CellResult::FromJson(json);
    if (!result.ok()) {
      return absl::DataLossError(absl::StrCat("coordinator state: cell ", select.Text(0), ": ",
                                              result.status().message()));
    }
    results[select.Text(0)] = *std::move(result);
  }
  GP_RETURN_IF_ERROR(select.Done());
  return results;
}

absl::StatusOr<std::vector<CellFailure>> CoordinatorStore::CellFailures(
    const std::string& ablation_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(db_,
                   "SELECT cell_id, error FROM cells WHERE ablation_id = ? AND state = 'failed' "
                   "ORDER BY recorded_unix");
  select.Bind(1, ablation_id);
  std::vector<CellFailure> failures;
  while (select.Step()) failures.push_back({select.Text(0), select.Text(1)});
  GP_RETURN_IF_ERROR(select.Done());
  return failures;
}

absl::Status CoordinatorStore::RecordJob(const std::string& ablation_id, const std::string& task_id,
                                         const std::string& worker, const std::string& job_id,
                                         const std::string& state) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement upsert(db_,
                   "INSERT INTO jobs(ablation_id, task_id, worker, job_id, state, updated_unix) "
                   "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(ablation_id, task_id) DO UPDATE SET "
                   "worker = excluded.worker, job_id = excluded.job_id, state = excluded.state, "
                   "updated_unix = excluded.updated_unix");
  upsert.Bind(1, ablation_id).Bind(2, task_id).Bind(3, worker).Bind(4, job_id).Bind(5, state);
  upsert.Bind(6, NowUnix());
  upsert.Step();
  return upsert.Done();
}

absl::StatusOr<StoredWorker> CoordinatorStore::RegisterWorker(const std::string& kind,
                                                              const std::string& address,
                                                              int capacity, double expires_unix) {
  StoredWorker worker;
  worker.id = absl::StrFormat("%016x", Fnv1a64(absl::StrCat(kind, "@", address)));
  worker.kind = kind;
  worker.address = address;
  worker.capacity = capacity;
  worker.lease_expires_unix = expires_unix;
  std::lock_guard<std::mutex> lock(mutex_);
  Statement upsert(db_,
                   "INSERT INTO workers(id, kind, address, capacity, lease_expires_unix) "
                   "VALUES(?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET capacity = "
                   "excluded.capacity, lease_expires_unix = excluded.lease_expires_unix");
  upsert.Bind(1, worker.id).Bind(2, kind).Bind(3, address);
  upsert.Bind(4, static_cast<int64_t>(capacity)).Bind(5, expires_unix);
  upsert.Step();
  GP_RETURN_IF_ERROR(upsert.Done());
  return worker;
}

absl::StatusOr<bool> CoordinatorStore::RenewLease(const std::string& worker_id, double now_unix,
                                                  double expires_unix) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement update(db_,
                   "UPDATE workers SET lease_expires_unix = ? WHERE id = ? AND "
                   "lease_expires_unix >= ?");
  update.Bind(1, expires_unix).Bind(2, worker_id).Bind(3, now_unix);
  update.Step();
  GP_RETURN_IF_ERROR(update.Done());
  return sqlite3_changes(db_) == 1;
}

absl::StatusOr<std::vector<StoredWorker>> CoordinatorStore::ListWorkers(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(db_,
                   "SELECT id, kind, address, capacity, lease_expires_unix FROM workers WHERE "
                   "? = '' OR kind = ? ORDER BY kind, address");
  select.Bind(1, kind).Bind(2, kind);
  std::vector<StoredWorker> workers;
  while (select.Step()) {
    workers.push_back({select.Text(0), select.Text(1), select.Text(2),
                       static_cast<int>(select.Int(3)), select.Real(4)});
  }
  GP_RETURN_IF_ERROR(select.Done());
  return workers;
}

}  // namespace gp
