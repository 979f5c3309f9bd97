// The ablation scheduler: a loop that starts builds and cells on threads as the executor has
// room, and the bookkeeping of what is pending, running, built, done or failed.
#include "common/ablation/ablation_scheduler.h"

#include <c10/util/Logging.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"

namespace gp {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct DatasetState {
  const DatasetSpec* spec = nullptr;
  std::string id;
  int family = -1;
  int cells_left = 0;  // cells not yet done or failed
  std::vector<int> cells;
  std::optional<DatasetHandle> handle;
};

struct FamilyState {
  enum class Build { kPending, kBuilding, kBuilt, kFailed };
  std::vector<int> datasets;
  int attempts = 0;
  Build build = Build::kPending;
  int builds = 0;        // successful builds: a rebuilt family's cells tell old from new
  absl::Status failure;  // why, when kFailed
};

struct CellState {
  int dataset = -1;
  int attempts = 0;
  bool finished = false;
  bool queued = false;  // in ready_cells_
  bool running = false;
  int build = 0;  // the family's build it last ran on
};

// A delayed retry: the index of a family or cell and when it may start again.
struct Retry {
  int index;
  Clock::time_point at;
};

class Scheduler {
 public:
  Scheduler(const std::vector<AblationCell>& cells, CellExecutor& executor,
            const SchedulerOptions& options, const RecordCell& record,
            const RecordFailure& record_failure,
            const std::function<void(const AblationProgress&)>& on_progress)
      : cells_(cells),
        executor_(executor),
        options_(options),
        record_(record),
        record_failure_(record_failure),
        on_progress_(on_progress) {}

  absl::Status Run() {
    Plan();
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      JoinFinishedThreads();
      if (!stop_ && options_.cancel != nullptr && options_.cancel->load()) {
        stop_ = true;
        if (error_.ok()) error_ = absl::CancelledError("ablation cancelled");
      }
      if (stop_ && running_builds_ == 0 && running_cells_ == 0) break;
      if (!stop_) {
        StartCells();
        StartBuilds();
      }
      if (!stop_ && progress_.cells_done + progress_.cells_failed == progress_.cells_total &&
          running_builds_ == 0 && running_cells_ == 0) {
        break;
      }
      // Woken by every finished task; the timeout follows retries, slots and cancellation.
      changed_.wait_for(lock, std::chrono::milliseconds(100));
    }
    lock.unlock();
    for (auto& [id, thread] : threads_) thread.join();
    lock.lock();
    if (error_.ok()) Report("done", "", nullptr);
    return error_;
  }

 private:
  // Datasets in grid order, each in one family; cells not recorded yet queue behind them.
  void Plan() {
    std::map<std::string, int> dataset_index;
    for (size_t i = 0; i < cells_.size(); ++i) {
      const AblationCell& cell = cells_[i];
      auto [it, added] = dataset_index.emplace(cell.dataset_id, datasets_.size());
      if (added) {
        DatasetState dataset;
        dataset.spec = &cell.dataset;
        dataset.id = cell.dataset_id;
        datasets_.push_back(dataset);
      }
      CellState state;
      state.dataset = it->second;
      const bool failed = options_.failed.count(cell.id) > 0;
      state.finished = failed || options_.done.count(cell.id) > 0;
      progress_.cells_failed += failed;
      if (!state.finished) ++datasets_[it->second].cells_left;
      datasets_[it->second].cells.push_back(static_cast<int>(i));
      cell_states_.push_back(state);
    }
    // A family: datasets of one model and graph setting, adjacent in the grid.
    nlohmann::json family_json;
    for (size_t d = 0; d < datasets_.size(); ++d) {
      const nlohmann::json json = datasets_[d].spec->FamilyJson();
      if (families_.empty() || !options_.share_forward_passes || json != family_json) {
        families_.emplace_back();
        family_json = json;
      }
      datasets_[d].family = static_cast<int>(families_.size()) - 1;
      families_.back().datasets.push_back(static_cast<int>(d));
    }
    progress_.cells_total = static_cast<int>(cells_.size());
    progress_.cells_resumed =
        static_cast<int>(std::count_if(cell_states_.begin(), cell_states_.end(),
                                       [](const CellState& c) { return c.finished; })) -
        progress_.cells_failed;
    progress_.cells_done = progress_.cells_resumed;
    progress_.datasets_total = static_cast<int>(families_.size());
    for (size_t f = 0; f < families_.size(); ++f) {
      const bool needed = std::any_of(families_[f].datasets.begin(), families_[f].datasets.end(),
                                      [&](int d) { return datasets_[d].cells_left > 0; });
      if (needed) {
        pending_families_.push_back({static_cast<int>(f), Clock::now()});
      } else {
        families_[f].build = FamilyState::Build::kBuilt;
        ++progress_.datasets_done;
      }
    }
  }

  // Takes the first entry of `queue` whose time has come.
  static std::optional<int> TakeDue(std::deque<Retry>& queue) {
    const auto now = Clock::now();
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      if (it->at <= now) {
        const int index = it->index;
        queue.erase(it);
        return index;
      }
    }
    return std::nullopt;
  }

  void StartBuilds() {
    while (!pending_families_.empty() && running_builds_ < executor_.BuildSlots()) {
      const std::optional<int> family = TakeDue(pending_families_);
      if (!family) return;
      families_[*family].build = FamilyState::Build::kBuilding;
      ++running_builds_;
      Spawn([this, f = *family] { BuildFamily(f); });
    }
  }

  void StartCells() {
    while (!ready_cells_.empty() && running_cells_ < executor_.CellSlots()) {
      const std::optional<int> cell = TakeDue(ready_cells_);
      if (!cell) return;
      CellState& state = cell_states_[*cell];
      state.queued = false;
      state.running = true;
      state.build = FamilyOf(*cell).builds;
      ++running_cells_;
      ++progress_.cells_running;
      Report("probe", cells_[*cell].id, nullptr);
      // The handle as it is now: the family may be built again before the thread runs.
      Spawn([this, c = *cell, handle = *datasets_[state.dataset].handle] { RunCell(c, handle); });
    }
  }

  void Spawn(std::function<void()> task) {
    const int id = next_thread_id_++;
    threads_.emplace(id, std::thread([this, id, task = std::move(task)] {
                       task();
                       std::lock_guard<std::mutex> lock(mutex_);
                       finished_threads_.push_back(id);
                       changed_.notify_all();
                     }));
  }

  FamilyState& FamilyOf(int c) { return families_[datasets_[cell_states_[c].dataset].family]; }

  // Queues cell `c` to start once `delay` has passed, unless it is queued, running or done; at
  // the front with `first` (the cells of a family built again: their dataset was lost once
  // for waiting, so they go before the cells of datasets that are older now).
  void Queue(int c, std::chrono::milliseconds delay = std::chrono::milliseconds(0),
             bool first = false) {
    CellState& state = cell_states_[c];
    if (state.finished || state.queued || state.running) return;
    state.queued = true;
    const Retry entry{c, Clock::now() + delay};
    if (first) {
      ready_cells_.push_front(entry);
    } else {
      ready_cells_.push_back(entry);
    }
  }

  void JoinFinishedThreads() {
    for (int id : finished_threads_) {
      threads_.at(id).join();
      threads_.erase(id);
    }
    finished_threads_.clear();
  }

  std::chrono::milliseconds Backoff(int attempts) const {
    const double seconds =
        std::min(10.0, options_.first_backoff_seconds * (1 << std::min(attempts - 1, 10)));
    return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }

  // A failure for good: the local runner stops, the coordinator records it and goes on.
  void FailForGood(const absl::Status& status) {
    if (options_.stop_at_first_failure) {
      stop_ = true;
      if (error_.ok()) error_ = status;
    }
  }

  void BuildFamily(int f) {
    std::vector<DatasetSpec> specs;
    std::string first_id;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (int d : families_[f].datasets) {
        specs.push_back(*datasets_[d].spec);
        if (first_id.empty()) first_id = datasets_[d].id;
      }
      Report("dataset", first_id, nullptr);
    }
    const auto start = Clock::now();
    absl::StatusOr<std::vector<DatasetHandle>> handles = executor_.BuildFamily(specs, &stop_);
    std::lock_guard<std::mutex> lock(mutex_);
    --running_builds_;
    progress_.dataset_seconds += SecondsSince(start);
    FamilyState& family = families_[f];
    if (handles.ok() && handles->size() != family.datasets.size()) {
      handles = absl::InternalError(absl::StrCat("the executor built ", handles->size(),
                                                 " datasets of ", family.datasets.size()));
    }
    if (handles.ok()) {
      ++progress_.datasets_done;
      family.build = FamilyState::Build::kBuilt;
      ++family.builds;
      for (size_t i = 0; i < family.datasets.size(); ++i) {
        const int d = family.datasets[i];
        datasets_[d].handle = (*handles)[i];
        for (int c : datasets_[d].cells) Queue(c, std::chrono::milliseconds(0), family.builds > 1);
      }
      Report("built", first_id, nullptr);
    } else if (stop_ && handles.status().code() == absl::StatusCode::kCancelled) {
      // Cancelled with the ablation: nothing to record.
    } else if (IsRetryable(handles.status()) && ++family.attempts < options_.max_attempts) {
      LOG(WARNING) << "event=build_retry dataset=" << first_id << " attempt=" << family.attempts
                   << " status=\"" << handles.status().message() << "\"";
      family.build = FamilyState::Build::kPending;
      pending_families_.push_back({f, Clock::now() + Backoff(family.attempts)});
    } else {
      // Every cell of the family fails with the build; one still running on an earlier build
      // of it (a rebuild failed) ends by itself.
      family.build = FamilyState::Build::kFailed;
      family.failure = Annotate(handles.status(), first_id);
      for (int d : family.datasets) {
        for (int c : datasets_[d].cells) {
          if (!cell_states_[c].finished && !cell_states_[c].running) {
            FinishFailed(c, family.failure);
          }
        }
      }
      FailForGood(family.failure);
    }
    changed_.notify_all();
  }

  void RunCell(int c, const DatasetHandle& handle) {
    const AblationCell& cell = cells_[c];
    const auto start = Clock::now();
    absl::StatusOr<CellResult> result = executor_.RunCell(cell, handle, &stop_);
    std::lock_guard<std::mutex> lock(mutex_);
    --running_cells_;
    --progress_.cells_running;
    progress_.probe_seconds += SecondsSince(start);
    CellState& state = cell_states_[c];
    state.running = false;
    if (result.ok()) {
      const absl::Status recorded = record_(*result);
      if (!recorded.ok()) {
        stop_ = true;
        if (error_.ok()) error_ = recorded;
      } else {
        state.finished = true;
        ++progress_.cells_done;
        ++ran_;
        Report("probe", cell.id, &*result);
        CellFinished(c);
      }
    } else if (stop_ && result.status().code() == absl::StatusCode::kCancelled) {
      // Cancelled with the ablation: it runs again on a resume.
    } else if (result.status().code() == absl::StatusCode::kNotFound &&
               ++state.attempts < options_.max_attempts) {
      LOG(WARNING) << "event=dataset_gone cell=" << cell.id << " attempt=" << state.attempts
                   << " status=\"" << result.status().message() << "\"";
      DatasetGone(c);
    } else if (IsRetryable(result.status()) && ++state.attempts < options_.max_attempts) {
      LOG(WARNING) << "event=cell_retry cell=" << cell.id << " attempt=" << state.attempts
                   << " status=\"" << result.status().message() << "\"";
      RunAgain(c, Backoff(state.attempts));
    } else {
      const absl::Status status = Annotate(result.status(), cell.id);
      FinishFailed(c, status);
      FailForGood(status);
    }
    changed_.notify_all();
  }

  // Cell `c`'s dataset is no longer where its handle said (a feature service deleted it to keep
  // its disk budget): the family is built again, once however many of its cells notice, and
  // its cells start over with the new build.
  void DatasetGone(int c) {
    FamilyState& family = FamilyOf(c);
    if (family.build != FamilyState::Build::kBuilt || family.builds != cell_states_[c].build) {
      RunAgain(c);  // built again since this cell started, or being built, or failed to be
      return;
    }
    family.build = FamilyState::Build::kPending;
    family.attempts = 0;
    --progress_.datasets_done;
    for (int d : family.datasets) datasets_[d].handle.reset();
    // Cells queued with the lost build wait for the new one.
    for (auto it = ready_cells_.begin(); it != ready_cells_.end();) {
      if (&FamilyOf(it->index) == &family) {
        cell_states_[it->index].queued = false;
        it = ready_cells_.erase(it);
      } else {
        ++it;
      }
    }
    pending_families_.push_back({datasets_[cell_states_[c].dataset].family, Clock::now()});
  }

  // Cell `c` runs again after `delay` on its family's current build; while the family is
  // being built again it waits for that build (queued when it lands), and when that build
  // failed for good it fails with it.
  void RunAgain(int c, std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    const FamilyState& family = FamilyOf(c);
    if (family.build == FamilyState::Build::kBuilt) {
      Queue(c, delay);
    } else if (family.build == FamilyState::Build::kFailed) {
      FinishFailed(c, family.failure);
      FailForGood(family.failure);
    }
  }

  void FinishFailed(int c, const absl::Status& status) {
    cell_states_[c].finished = true;
    ++progress_.cells_failed;
    if (record_failure_) {
      const absl::Status recorded = record_failure_(cells_[c], status);
      if (!recorded.ok()) LOG(WARNING) << "event=failure_not_recorded cell=" << cells_[c].id;
    }
    Report("probe", cells_[c].id, nullptr);
    CellFinished(c);
  }

  void CellFinished(int c) {
    DatasetState& dataset = datasets_[cell_states_[c].dataset];
    if (--dataset.cells_left == 0 && dataset.handle) executor_.ReleaseDataset(*dataset.handle);
  }

  void Report(const std::string& stage, const std::string& current, const CellResult* finished) {
    if (!on_progress_) return;
    progress_.stage = stage;
    progress_.current = current;
    progress_.finished = finished;
    progress_.elapsed_seconds = SecondsSince(start_);
    const int left = progress_.cells_total - progress_.cells_done - progress_.cells_failed;
    progress_.eta_seconds = ran_ > 0 ? progress_.elapsed_seconds / ran_ * left : -1;
    on_progress_(progress_);
  }

  const std::vector<AblationCell>& cells_;
  CellExecutor& executor_;
  const SchedulerOptions& options_;
  const RecordCell& record_;
  const RecordFailure& record_failure_;
  const std::function<void(const AblationProgress&)>& on_progress_;
  const Clock::time_point start_ = Clock::now();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<DatasetState> datasets_;
  std::vector<FamilyState> families_;
  std::vector<CellState> cell_states_;
  std::deque<Retry> pending_families_;
  std::deque<Retry> ready_cells_;
  int running_builds_ = 0, running_cells_ = 0, ran_ = 0;
  std::atomic<bool> stop_{false};
  absl::Status error_;
  AblationProgress progress_;
  std::map<int, std::thread> threads_;
  std::vector<int> finished_threads_;
  int next_thread_id_ = 0;
};

}  // namespace

CellResult DescribeCell(const AblationCell& cell) {
  CellResult r;
  r.cell_id = cell.id;
  r.dataset_id = cell.dataset_id;
  r.model = cell.model_name;
  r.probe = cell.probe;
  r.control = ProbeControlName(cell.control);
  r.graph_size = cell.dataset.generator.num_nodes;
  r.permutations = cell.dataset.permutations;
  r.graphs = cell.dataset.num_graphs;
  r.generator = GeneratorKindName(cell.dataset.generator.kind);
  r.notation = NotationName(cell.dataset.prompt.notation);
  r.names = NameSchemeName(cell.dataset.names);
  r.feature_mode = FeatureModeName(cell.dataset.features);
  r.seed = cell.dataset.seed;
  return r;
}

bool IsRetryable(const absl::Status& status) {
  // ResourceExhausted: a full dataset disk or a full queue empties with time (a request over a
  // fixed limit then fails after its attempts, as it would have at once). DataLoss: a dataset
  // damaged in transit (its checksum) is fetched again.
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded ||
         status.code() == absl::StatusCode::kAborted ||
         status.code() == absl::StatusCode::kResourceExhausted ||
         status.code() == absl::StatusCode::kDataLoss;
}

absl::Status RunCells(const std::vector<AblationCell>& cells, CellExecutor& executor,
                      const SchedulerOptions& options, const RecordCell& record,
                      const RecordFailure& record_failure,
                      const std::function<void(const AblationProgress&)>& on_progress) {
  Scheduler scheduler(cells, executor, options, record, record_failure, on_progress);
  return scheduler.Run();
}

}  // namespace gp
