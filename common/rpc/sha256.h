// SHA-256 of a byte stream (OpenSSL), for checking that a dataset arrived as it was written.
//
//   Sha256 hash;
//   hash.Update(chunk);  // as often as there are chunks
//   std::string hex = hash.HexDigest();
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace gp {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Lowercase hex of everything updated so far; ends the hash (call once).
  std::string HexDigest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace gp
