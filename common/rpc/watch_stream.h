// The server side of the Watch* RPCs (WatchJob, WatchAblation) and of long polls: the watched
// state now and after
// each change, at most one message per `min_interval`, until it has finished, the client went
// away (CANCELLED) or the service is stopping (UNAVAILABLE, so the client reconnects).
//
//   return StreamChanges<pb::Job>(context, mutex_, changed_, read, [&] { return stopping_; },
//                                 [](const pb::Job& j) { return Finished(j.state()); }, writer,
//                                 {std::chrono::milliseconds(200), "shutting down"});
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace gp {

// A client's wait_seconds as a bounded wait (0 to 30 s): a long poll never holds a server
// thread for long.
inline std::chrono::milliseconds WaitDuration(double seconds) {
  const double bounded = seconds > 30 ? 30 : (seconds > 0 ? seconds : 0);
  return std::chrono::milliseconds(static_cast<int64_t>(bounded * 1000));
}

struct WatchOptions {
  std::chrono::milliseconds min_interval{200};
  std::string stopping_message = "the service is shutting down";
};

// `read` and `stopping` run with `mutex` held: `read` gives the state's version (bumped at every
// change, with `changed` notified) and the message to send, or an error (NOT_FOUND) that ends
// the stream.
template <typename Message>
grpc::Status StreamChanges(grpc::ServerContext* context, std::mutex& mutex,
                           std::condition_variable& changed,
                           const std::function<grpc::Status(int* version, Message* message)>& read,
                           const std::function<bool()>& stopping,
                           const std::function<bool(const Message&)>& finished,
                           grpc::ServerWriter<Message>* writer, const WatchOptions& options) {
  int seen = -1;
  for (;;) {
    Message message;
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock(mutex);
      int version = 0;
      const grpc::Status status = read(&version, &message);
      if (!status.ok()) return status;
      stop = stopping();
      if (version == seen && !stop) {
        changed.wait_for(lock, std::chrono::milliseconds(200));
        if (context->IsCancelled()) return grpc::Status::CANCELLED;
        continue;
      }
      seen = version;
    }
    if (!writer->Write(message)) return grpc::Status::CANCELLED;
    if (finished(message)) return grpc::Status::OK;
    if (stop) return grpc::Status(grpc::StatusCode::UNAVAILABLE, options.stopping_message);
    std::this_thread::sleep_for(options.min_interval);
  }
}

}  // namespace gp
