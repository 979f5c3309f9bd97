// Extractor clients: spreading prompts, reassembling streams, failing over.
#include "common/rpc/remote_attention_source.h"

#include <arpa/inet.h>
#include <c10/util/Logging.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/rpc/security.h"
#include "common/rpc/status.h"
#include "common/rpc/tensor_wire.h"

namespace gp {
namespace {

// Failures of the extractor rather than of the request: try another one.
bool ExtractorFailed(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded ||
         status.code() == absl::StatusCode::kCancelled;
}

// Cancels a call as soon as `cancel` is set, not only when its next message arrives: an
// extractor busy with other clients' work may send nothing for minutes, and the cancelled call
// is what lets it withdraw this one's waiting prompts. Polls every 50 ms while the call lasts.
class CancelWatcher {
 public:
  CancelWatcher(const std::atomic<bool>* cancel, grpc::ClientContext* context) {
    if (cancel == nullptr) return;
    thread_ = std::thread([this, cancel, context] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!done_) {
        if (cancel->load()) {
          context->TryCancel();
          return;
        }
        wake_.wait_for(lock, std::chrono::milliseconds(50));
      }
    });
  }
  ~CancelWatcher() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  CancelWatcher(const CancelWatcher&) = delete;
  CancelWatcher& operator=(const CancelWatcher&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return MakeChannel(address, args);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ResolveExtractorAddresses(
    const std::vector<std::string>& extractors) {
  std::vector<std::string> out;
  const auto add = [&](const std::string& address) {
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  };
  for (std::string entry : extractors) {
    if (entry.rfind("dns:///", 0) == 0) entry = entry.substr(7);
    const size_t colon = entry.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("extractor '", entry, "': expected host:port"));
    }
    std::string host = entry.substr(0, colon);
    const std::string port = entry.substr(colon + 1);
    if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (error != 0) {
      return absl::NotFoundError(
          absl::StrCat("extractor '", entry, "': cannot resolve: ", gai_strerror(error)));
    }
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      if (a->ai_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, text,
                  sizeof text);
        add(absl::StrCat(text, ":", port));
      } else if (a->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, text,
                  sizeof text);
        add(absl::StrCat("[", text, "]:", port));
      }
    }
    freeaddrinfo(found);
  }
  return out;
}

graphprobe::v1::ModelRef ToProto(const ModelRef& ref) {
  graphprobe::v1::ModelRef out;
  out.set_path(ref.path);
  out.set_random_init(ref.random_init);
  out.set_init_seed(ref.init_seed);
  out.set_dtype(ref.dtype);
  return out;
}

absl::StatusOr<std::unique_ptr<RemoteAttentionSource>> RemoteAttentionSource::Create(
    const RemoteSourceOptions& options) {
  if (options.extractors.empty()) return absl::InvalidArgumentError("extractors: none given");
  GP_ASSIGN_OR_RETURN(std::vector<std::string> addresses,
                      ResolveExtractorAddresses(options.extractors));
  std::unique_ptr<RemoteAttentionSource> source(new RemoteAttentionSource(options));
  absl::Status last =
      absl::NotFoundError(absl::StrCat("model '", options.model.path, "': no extractor serves it"));
  bool found = false;
  for (const std::string& address : addresses) {
    Endpoint endpoint;
    endpoint.address = address;
    endpoint.stub = graphprobe::v1::Extractor::NewStub(ChannelTo(address));
    if (!found) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      graphprobe::v1::ListModelsResponse models;
      const absl::Status status = FromGrpcStatus(
          endpoint.stub->ListModels(&context, graphprobe::v1::ListModelsRequest(), &models),
          absl::StrCat("extractor ", address));
      if (!status.ok()) last = status;
      for (const auto& model : models.models()) {
        if (model.path() == options.model.path) {
          source->shape_ = {model.layers(), model.heads()};
          found = true;
        }
      }
    }
    source->endpoints_.push_back(std::move(endpoint));
  }
  if (!found) return last;
  return source;
}

std::vector<int64_t> RemoteAttentionSource::PromptsServed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int64_t> out;
  for (const Endpoint& e : endpoints_) out.push_back(e.served);
  return out;
}

absl::StatusOr<std::vector<CapturedPrompt>> RemoteAttentionSource::ExtractOn(
    Endpoint& endpoint, const std::vector<CapturePrompt>& prompts,
    const std::vector<FeatureOptions>& pool, const std::atomic<bool>* cancel) {
  graphprobe::v1::ExtractRequest request;
  *request.mutable_model() = ToProto(options_.model);
  request.set_wire_dtype(options_.wire_dtype);
  for (const FeatureOptions& mode : pool) request.add_pool(FeatureModeName(mode));
  for (const CapturePrompt& p : prompts) {
    auto* prompt = request.add_prompts();
    prompt->set_text(p.text);
    for (const auto& node : p.mentions) {
      auto* spans = prompt->add_nodes();
      for (const MentionSpan& m : node) {
        auto* span = spans->add_spans();
        span->set_begin(m.begin);
        span->set_end(m.end);
      }
    }
  }
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(options_.deadline_seconds * 1000)));
  auto reader = endpoint.stub->Extract(&context, request);
  const CancelWatcher watcher(cancel, &context);
  const std::string where = absl::StrCat("extractor ", endpoint.address);
  std::vector<CapturedPrompt> out(prompts.size());
  // A prompt is whole with its tokens and its rows, or every pooled mode's features.
  std::vector<bool> have_tokens(prompts.size(), false), have_attention(prompts.size(), false);
  TensorAssembler assembler;
  graphprobe::v1::ExtractResponse response;
  absl::Status protocol = absl::OkStatus();
  while (protocol.ok() && reader->Read(&response)) {
    if (cancel != nullptr && cancel->load()) {
      context.TryCancel();
      break;
    }
    const uint32_t i = response.prompt_index();
    if (i >= prompts.size()) {
      protocol = absl::DataLossError(absl::StrCat(where, ": prompt index ", i, " out of range"));
      break;
    }
    if (response.has_tokens()) {
      const auto& t = response.tokens();
      PreparedPrompt& p = out[i].prompt;
      p.ids.assign(t.ids().begin(), t.ids().end());
      p.positions.assign(t.positions().begin(), t.positions().end());
      for (const auto& node : t.nodes()) {
        p.mentions.emplace_back();
        for (const auto& mention : node.mentions()) {
          p.mentions.back().emplace_back(mention.tokens().begin(), mention.tokens().end());
        }
      }
      have_tokens[i] = true;
    } else if (response.has_rows() || response.has_features()) {
      const graphprobe::v1::TensorChunk& chunk =
          response.has_rows() ? response.rows() : response.features();
      std::vector<at::Tensor>& features = out[i].attention.features;
      // Rows when no mode was asked for, else the modes' features in the request's order.
      const bool expected =
          response.has_rows() ? pool.empty()
                              : features.size() < pool.size() &&
                                    chunk.name() == request.pool(static_cast<int>(features.size()));
      if (!expected || have_attention[i]) {
        protocol = absl::DataLossError(
            absl::StrCat(where, ": prompt ", i, ": unexpected tensor '", chunk.name(), "'"));
        break;
      }
      bytes_received_ += static_cast<int64_t>(chunk.data().size());
      protocol = Annotate(assembler.Add(chunk), where);
      if (protocol.ok() && assembler.complete()) {
        absl::StatusOr<at::Tensor> tensor = assembler.Take();
        if (!tensor.ok()) {
          protocol = tensor.status();
          break;
        }
        if (response.has_rows()) {
          out[i].attention.rows = *std::move(tensor);
        } else {
          features.push_back(*std::move(tensor));
        }
        have_attention[i] = pool.empty() || features.size() == pool.size();
      }
    }
  }
  if (!protocol.ok()) {
    context.TryCancel();
    reader->Finish();
    return protocol;
  }
  GP_RETURN_IF_ERROR(FromGrpcStatus(reader->Finish(), where));
  if (cancel != nullptr && cancel->load()) return absl::CancelledError("cancelled");
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (!have_tokens[i] || !have_attention[i]) {
      return absl::DataLossError(absl::StrCat(where, ": the stream ended without prompt ", i));
    }
    if (out[i].prompt.positions.empty())
      out[i].attention = CapturedAttention();  // nothing mentioned
  }
  return out;
}

absl::StatusOr<std::vector<CapturedPrompt>> RemoteAttentionSource::Capture(
    const std::vector<CapturePrompt>& prompts, const std::vector<FeatureOptions>& pool,
    const std::atomic<bool>* cancel) {
  std::vector<CapturedPrompt> out(prompts.size());
  // Pieces of the batch still to do: [begin, end) of `prompts`.
  std::vector<std::pair<size_t, size_t>> remaining = {{0, prompts.size()}};
  absl::Status last_failure = absl::UnavailableError("no extractor is alive");
  while (!remaining.empty()) {
    std::vector<Endpoint*> alive;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (Endpoint& e : endpoints_) {
        if (e.alive) alive.push_back(&e);
      }
    }
    if (alive.empty()) return last_failure;
    // Split every pending piece over the live extractors by their speed: each gets a share
    // proportional to the prompts per second it delivered so far (unknown: the mean).
    std::vector<double> speed(alive.size());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      double known = 0;
      int count = 0;
      for (const Endpoint* e : alive) {
        if (e->seconds_per_prompt > 0) known += 1 / e->seconds_per_prompt, ++count;
      }
      const double fallback = count > 0 ? known / count : 1.0;
      for (size_t k = 0; k < alive.size(); ++k) {
        speed[k] = alive[k]->seconds_per_prompt > 0 ? 1 / alive[k]->seconds_per_prompt : fallback;
      }
    }
    double total_speed = 0;
    for (double v : speed) total_speed += v;
    std::vector<std::pair<size_t, size_t>> pieces;
    std::vector<Endpoint*> assigned;
    for (const auto& [begin, end] : remaining) {
      const size_t n = end - begin;
      double cumulative = 0;
      size_t b = begin;
      for (size_t k = 0; k < alive.size(); ++k) {
        cumulative += speed[k];
        const size_t e = k + 1 == alive.size()
                             ? end
                             : begin + static_cast<size_t>(n * cumulative / total_speed + 0.5);
        if (e > b) {
          pieces.push_back({b, e});
          assigned.push_back(alive[k]);
        }
        b = std::max(b, e);
      }
    }
    remaining.clear();
    std::vector<std::future<absl::StatusOr<std::vector<CapturedPrompt>>>> futures;
    for (size_t k = 0; k < pieces.size(); ++k) {
      Endpoint* endpoint = assigned[k];
      std::vector<CapturePrompt> piece(prompts.begin() + pieces[k].first,
                                       prompts.begin() + pieces[k].second);
      futures.push_back(std::async(std::launch::async, [this, endpoint, piece, &pool, cancel]() {
        const auto start = std::chrono::steady_clock::now();
        auto result = ExtractOn(*endpoint, piece, pool, cancel);
        if (result.ok() && !piece.empty()) {
          const double per_prompt =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
              piece.size();
          std::lock_guard<std::mutex> lock(mutex_);
          endpoint->seconds_per_prompt = endpoint->seconds_per_prompt > 0
                                             ? 0.7 * endpoint->seconds_per_prompt + 0.3 * per_prompt
                                             : per_prompt;
        }
        return result;
      }));
    }
    absl::Status error = absl::OkStatus();
    for (size_t k = 0; k < futures.size(); ++k) {
      absl::StatusOr<std::vector<CapturedPrompt>> result = futures[k].get();
      if (result.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        assigned[k]->served += static_cast<int64_t>(result->size());
        for (size_t i = 0; i < result->size(); ++i) {
          out[pieces[k].first + i] = std::move((*result)[i]);
        }
      } else if (ExtractorFailed(result.status()) && !(cancel != nullptr && cancel->load())) {
        LOG(WARNING) << "event=extractor_failed address=" << assigned[k]->address << " status=\""
                     << result.status().message() << "\"";
        std::lock_guard<std::mutex> lock(mutex_);
        assigned[k]->alive = false;
        last_failure = result.status();
        remaining.push_back(pieces[k]);
      } else if (error.ok()) {
        error = result.status();
      }
    }
    GP_RETURN_IF_ERROR(error);
    if (cancel != nullptr && cancel->load()) return absl::CancelledError("cancelled");
  }
  return out;
}

}  // namespace gp
