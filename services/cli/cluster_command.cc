// `graphprobe cluster up [--extractors N]` starts coordinator, extractors, a feature service and
// a trainer as background processes on loopback ports the kernel picks, each logging to
// DIR/logs/NAME.log, each serving metrics on a loopback port of its own (the coordinator also
// its reports), records them (with their metrics addresses and the reports' URL) in
// DIR/cluster.json and prints the coordinator's address (last line);
// `graphprobe cluster down` stops them (SIGTERM, then SIGKILL after the drain).
#include "services/cli/cluster_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "services/cli/flags.h"
#include "services/common/security_flags.h"

#ifndef GP_DEFAULT_MODEL_DIR
#define GP_DEFAULT_MODEL_DIR "models/graph-toy"
#endif

namespace gp {
namespace {

namespace fs = std::filesystem;

// With the security flags: given to `up`, every process gets them (TLS and the token on each
// server and on each channel between them).
const std::vector<FlagSpec> kClusterFlags = WithSecurityFlags({
    {"dir", true, "state, logs and cluster.json of the cluster (default .graphprobe-cluster)"},
    {"extractors", true, "extractor processes (default 2)"},
    {"model-root", true, "the extractors' --model-root (default: the embedded models' folder)"},
    {"trainer-jobs", true, "probes the trainer trains at once (default 2)"},
    {"help", false, "show this help"},
});

// The security flags given, as arguments for a child (absolute paths: the children run
// elsewhere), after the same checks a service makes of them.
absl::StatusOr<std::vector<std::string>> SecurityArgs(const Flags& flags) {
  GP_RETURN_IF_ERROR(ConfigureSecurityFromFlags(flags, /*serves=*/true));
  std::vector<std::string> args;
  for (const char* name : {"tls-cert", "tls-key", "tls-ca", "auth-token-file"}) {
    if (!flags.Has(name)) continue;
    args.push_back(absl::StrCat("--", name));
    args.push_back(fs::absolute(flags.Get(name, "")).string());
  }
  return args;
}

// A service binary: beside this one, in its build folder's sibling, or on PATH.
std::string ServiceBinary(const std::string& service) {
  const std::string name = "graphprobe-" + service;
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    for (const fs::path& candidate :
         {self.parent_path() / name, self.parent_path().parent_path() / service / name}) {
      if (fs::exists(candidate)) return candidate.string();
    }
  }
  return name;
}

struct Started {
  std::string name;
  pid_t pid;
  std::string address;
  std::string metrics;  // host:port of GET /metrics
};

// The value after `prefix` on a line of `log` ("listening on ", "metrics on "), or "".
std::string LoggedAddress(const fs::path& log, const std::string& prefix) {
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

// Starts `binary args...` in a session of its own, output to `log`, and waits for its
// "listening on ADDR" and "metrics on ADDR" lines.
absl::StatusOr<Started> StartService(const std::string& name, const std::string& binary,
                                     std::vector<std::string> args, const fs::path& log) {
  // Emptied here, before the child exists: the address is read from this file below, and a
  // previous cluster's log in the same folder must not be read in the meantime.
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", log.string()));
  const pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    setsid();
    dup2(fd, STDOUT_FILENO);  // dup2 clears close-on-exec on the copies
    dup2(fd, STDERR_FILENO);
    args.insert(args.begin(), binary);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp(binary.c_str(), argv.data());
    _exit(127);
  }
  close(fd);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string address = LoggedAddress(log, "listening on ");
    const std::string metrics = LoggedAddress(log, "metrics on ");
    if (!address.empty() && !metrics.empty()) return Started{name, pid, address, metrics};
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return absl::FailedPreconditionError(
          absl::StrCat(name, " (", binary, ") exited at start; see ", log.string()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  return absl::DeadlineExceededError(
      absl::StrCat(name, " did not report its address within 120 s; see ", log.string()));
}

bool Alive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

void StopProcesses(const std::vector<Started>& processes) {
  for (auto it = processes.rbegin(); it != processes.rend(); ++it) {
    if (!Alive(it->pid)) continue;
    kill(it->pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    while (Alive(it->pid) && std::chrono::steady_clock::now() < deadline) {
      waitpid(it->pid, nullptr, WNOHANG);  // reaps it when it is our child
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (Alive(it->pid)) kill(it->pid, SIGKILL);
    waitpid(it->pid, nullptr, WNOHANG);
  }
}

absl::Status Up(const Flags& flags) {
  const fs::path dir = fs::absolute(flags.Get("dir", ".graphprobe-cluster"));
  const fs::path record = dir / "cluster.json";
  if (fs::exists(record)) {
    GP_ASSIGN_OR_RETURN(nlohmann::json existing, ReadJsonFile(record.string()));
    for (const nlohmann::json& p : existing.value("processes", nlohmann::json::array())) {
      if (Alive(p.value("pid", 0))) {
        return absl::FailedPreconditionError(
            absl::StrCat("a cluster is already up in ", dir.string(), " (coordinator ",
                         existing.value("coordinator", "?"), "): `graphprobe cluster down` first"));
      }
    }
  }
  GP_ASSIGN_OR_RETURN(const int64_t extractors, flags.IntIn("extractors", 2, 1, 64));
  // The trainer's own --max-jobs range: refused here, not by a trainer that never comes up.
  GP_ASSIGN_OR_RETURN(const int64_t trainer_jobs, flags.IntIn("trainer-jobs", 2, 1, 1024));
  const std::string model_root =
      flags.Get("model-root", fs::path(GP_DEFAULT_MODEL_DIR).parent_path().string());
  std::error_code error;
  fs::create_directories(dir / "logs", error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir.string()));

  GP_ASSIGN_OR_RETURN(const std::vector<std::string> security, SecurityArgs(flags));
  std::vector<Started> started;
  const auto start = [&](const std::string& name, const std::string& service,
                         std::vector<std::string> args) -> absl::Status {
    args.insert(args.begin(), {"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
    args.insert(args.end(), security.begin(), security.end());
    absl::StatusOr<Started> process =
        StartService(name, ServiceBinary(service), args, dir / "logs" / (name + ".log"));
    if (!process.ok()) {
      StopProcesses(started);
      return process.status();
    }
    std::cout << name << " " << process->address << " (metrics " << process->metrics << ", pid "
              << process->pid << ")" << std::endl;
    started.push_back(*process);
    return absl::OkStatus();
  };
  GP_RETURN_IF_ERROR(
      start("coordinator", "coordinator",
            {"--state", (dir / "coordinator").string(), "--http-listen", "127.0.0.1:0"}));
  const std::string coordinator = started[0].address;
  // Printed before "listening on": there by now.
  const std::string reports = LoggedAddress(dir / "logs" / "coordinator.log", "reports at ");
  std::cout << "reports " << reports << std::endl;
  for (int i = 0; i < extractors; ++i) {
    GP_RETURN_IF_ERROR(start(absl::StrCat("extractor-", i), "extractor",
                             {"--model-root", model_root, "--coordinator", coordinator}));
  }
  GP_RETURN_IF_ERROR(start("features", "features",
                           {"--data", (dir / "features").string(), "--coordinator", coordinator}));
  GP_RETURN_IF_ERROR(start("trainer", "trainer",
                           {"--work", (dir / "trainer").string(), "--coordinator", coordinator,
                            "--max-jobs", std::to_string(trainer_jobs)}));
  nlohmann::json processes = nlohmann::json::array();
  for (const Started& p : started) {
    processes.push_back(
        {{"name", p.name}, {"pid", p.pid}, {"address", p.address}, {"metrics", p.metrics}});
  }
  GP_RETURN_IF_ERROR(WriteJsonFile(record.string(), {{"coordinator", coordinator},
                                                     {"reports", reports},
                                                     {"model_root", model_root},
                                                     {"processes", processes}}));
  std::cout << "cluster up in " << dir.string() << "; stop it with `graphprobe cluster down"
            << (flags.Has("dir") ? " --dir " + dir.string() : "") << "`\n"
            << coordinator << std::endl;
  return absl::OkStatus();
}

absl::Status Down(const Flags& flags) {
  const fs::path dir = fs::absolute(flags.Get("dir", ".graphprobe-cluster"));
  const fs::path record = dir / "cluster.json";
  if (!fs::exists(record)) {
    return absl::NotFoundError(
        absl::StrCat("no cluster is up in ", dir.string(), " (no cluster.json)"));
  }
  GP_ASSIGN_OR_RETURN(nlohmann::json existing, ReadJsonFile(record.string()));
  std::vector<Started> processes;
  for (const nlohmann::json& p : existing.value("processes", nlohmann::json::array())) {
    processes.push_back(
        {p.value("name", ""), p.value("pid", 0), p.value("address", ""), p.value("metrics", "")});
  }
  StopProcesses(processes);
  fs::remove(record);
  std::cout << "cluster in " << dir.string() << " stopped (" << processes.size() << " processes)\n";
  return absl::OkStatus();
}

}  // namespace

int RunClusterCommand(std::vector<std::string> args) {
  const std::vector<std::string> positional = TakePositional(&args, kClusterFlags);
  return RunSubcommand(
      "cluster",
      "usage: graphprobe cluster up [--extractors N] [--dir DIR] [--tls-cert F --tls-key F "
      "--tls-ca F --auth-token-file F] | graphprobe cluster down [--dir DIR]\n"
      "Starts (or stops) a local cluster of separate processes on loopback: coordinator,\n"
      "extractors, a feature service and a trainer. `up` prints the coordinator's address last.",
      kClusterFlags, args, std::cout, [&](const Flags& flags) -> absl::Status {
        if (positional.size() == 1 && positional[0] == "up") return Up(flags);
        if (positional.size() == 1 && positional[0] == "down") return Down(flags);
        return absl::InvalidArgumentError("expected `cluster up` or `cluster down`");
      });
}

}  // namespace gp
