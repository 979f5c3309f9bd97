// Which ATen ops a piece of work dispatches on this thread, by name and count, nested ones
// included (a boolean index dispatches nonzero; a linear, a matmul): for tests that check what
// a forward pass asks of the device, which a CPU run dispatches just as a GPU run would.
#pragma once

#include <ATen/record_function.h>

#include <functional>
#include <map>
#include <string>

namespace gp::testing {

inline std::map<std::string, int> DispatchedOps(const std::function<void()>& work) {
  thread_local std::map<std::string, int>* counts = nullptr;
  std::map<std::string, int> found;
  counts = &found;
  const at::CallbackHandle handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback([](const at::RecordFunction& fn)
                                     -> std::unique_ptr<at::ObserverContext> {
        ++(*counts)[fn.name()];
        return nullptr;
      }).scopes({at::RecordScope::FUNCTION}));
  // Removed however `work` ends: a callback left behind would write through a dangling
  // pointer in every later test on this thread.
  struct Unregister {
    at::CallbackHandle handle;
    ~Unregister() {
      at::removeCallback(handle);
      counts = nullptr;
    }
  } unregister{handle};
  work();
  return found;
}

}  // namespace gp::testing
