// Counts the ATen operators dispatched on this thread while it lives: the host's share of a
// forward pass. On a GPU every dispatched op costs the host some microseconds (dispatch, and a
// kernel launch for those that compute), so ops per batch times that cost, against the batch's
// time, says whether a pass is bound by launches (and whether CUDA graphs would pay). The same
// code dispatches the same ops on any device, except the fused attention kernel (one op on a
// GPU, its math decomposition on a CPU). The callbacks slow every op: count in an untimed pass.
//
//   {
//     DispatchedOpCounter counter;
//     RunOneBatch();
//     std::cout << counter.all() << " ops, " << counter.top_level() << " called by us\n";
//   }
#pragma once

#include <ATen/record_function.h>

#include <cstdint>
#include <map>
#include <string>

namespace gp {

class DispatchedOpCounter {
 public:
  DispatchedOpCounter() {
    Counts() = {};
    handle_ = at::addThreadLocalCallback(
        at::RecordFunctionCallback(&OnStart, &OnEnd).scopes({at::RecordScope::FUNCTION}));
  }
  ~DispatchedOpCounter() { at::removeCallback(handle_); }
  DispatchedOpCounter(const DispatchedOpCounter&) = delete;
  DispatchedOpCounter& operator=(const DispatchedOpCounter&) = delete;

  // Every op, views and the ops other ops call included.
  int64_t all() const { return Counts().all; }
  // The ops called from outside any other op: what our code asked for.
  int64_t top_level() const { return Counts().top_level; }
  // Every op by name ("aten::linear"), nested ones included (a boolean index dispatches
  // nonzero): what a test checks a pass asks of the device.
  const std::map<std::string, int64_t>& by_name() const { return Counts().by_name; }

 private:
  struct State {
    int64_t all = 0, top_level = 0;
    int depth = 0;
    std::map<std::string, int64_t> by_name;
  };
  static State& Counts() {
    thread_local State state;
    return state;
  }
  static std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction& fn) {
    State& s = Counts();
    ++s.all;
    ++s.by_name[fn.name()];
    if (s.depth++ == 0) ++s.top_level;
    return nullptr;
  }
  static void OnEnd(const at::RecordFunction&, at::ObserverContext*) { --Counts().depth; }

  at::CallbackHandle handle_;
};

}  // namespace gp
