// A graphprobe service binary started as a real process on a loopback port chosen by the
// kernel (its first stdout line says which), stopped with SIGTERM or killed with SIGKILL.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace gp::testing {

class ServiceProcess {
 public:
  // `binary --listen LISTEN ARGS...` (a restarted service takes its old address again).
  ServiceProcess(const std::string& binary, std::vector<std::string> args,
                 const std::string& listen = "127.0.0.1:0") {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      args.insert(args.begin(), {binary, "--listen", listen});
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    FILE* stream = fdopen(out[0], "r");
    char line[256];
    // "listening on 127.0.0.1:PORT"; nothing if the process failed to start.
    if (stream != nullptr && fgets(line, sizeof line, stream) != nullptr) {
      std::string text(line);
      const std::string prefix = "listening on ";
      if (text.rfind(prefix, 0) == 0)
        address_ = text.substr(prefix.size(), text.find('\n') - prefix.size());
    }
    stdout_ = stream;
  }
  ~ServiceProcess() {
    Kill();
    if (stdout_ != nullptr) fclose(stdout_);
  }
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  void Kill() { Signal(SIGKILL); }
  // SIGSTOP / SIGCONT: a frozen process (its sockets stay open, nothing answers).
  void Freeze() { kill(pid_, SIGSTOP); }
  void Thaw() { kill(pid_, SIGCONT); }
  // SIGTERM and wait: the exit status (or -1).
  int Terminate() { return Signal(SIGTERM); }

 private:
  int Signal(int signal) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid_ = -1;
  std::string address_;
  FILE* stdout_ = nullptr;
};

// graphprobe-extractor serving the models under `model_root`.
class ExtractorProcess : public ServiceProcess {
 public:
  ExtractorProcess(const std::string& binary, const std::string& model_root,
                   std::vector<std::string> extra = {})
      : ServiceProcess(binary, WithRoot(model_root, std::move(extra))) {}

 private:
  static std::vector<std::string> WithRoot(const std::string& root,
                                           std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--model-root", root});
    return extra;
  }
};

}  // namespace gp::testing
