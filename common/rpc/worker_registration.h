// A worker's side of the coordinator's leases: registers (kind, the address others reach it
// at, how many jobs it runs at once), then heartbeats well within the lease from a thread of
// its own, registering again when the coordinator forgot it (a restart, an expired lease) and
// retrying while the coordinator is away. And the other side: the live workers of a kind.
//
//   WorkerRegistration registration({"127.0.0.1:50050", "trainer", running.address, 2});
//   ... serve ...   // the destructor stops heartbeating; the lease then runs out
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace gp {

struct RegistrationOptions {
  std::string coordinator;  // host:port
  std::string kind;         // extractor, features or trainer
  std::string address;      // host:port of this worker as others reach it
  int capacity = 1;
};

class WorkerRegistration {
 public:
  explicit WorkerRegistration(RegistrationOptions options);
  ~WorkerRegistration();
  WorkerRegistration(const WorkerRegistration&) = delete;
  WorkerRegistration& operator=(const WorkerRegistration&) = delete;

  // Waits until the first registration succeeded (or `timeout_seconds` passed: Unavailable).
  absl::Status WaitRegistered(double timeout_seconds);

 private:
  void Run();

  RegistrationOptions options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool registered_ = false;
  std::thread thread_;
};

// host:port of the live (lease not expired) workers of `kind` registered with `coordinator`.
absl::StatusOr<std::vector<std::string>> LiveWorkers(const std::string& coordinator,
                                                     const std::string& kind,
                                                     double timeout_seconds);

}  // namespace gp
