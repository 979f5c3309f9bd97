// SHA-256 through OpenSSL's EVP interface.
#include "common/rpc/sha256.h"

#include <openssl/evp.h>

#include <cstdio>

namespace gp {

struct Sha256::Context {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Context() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  EVP_DigestInit_ex(context_->md, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::Update(std::string_view bytes) {
  EVP_DigestUpdate(context_->md, bytes.data(), bytes.size());
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_->md, digest, &length);
  std::string hex(2 * length, '0');
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(&hex[2 * i], 3, "%02x", digest[i]);
  }
  return hex;
}

}  // namespace gp
