// A consumer of the installed library (outside Bazel): seals a file with a CMK of the local
// store and opens it again, through the public C++ API only.
//
//   seal_file STORE_DIR INPUT SEALED OPENED
//
// Built by examples/consumers/cmake (find_package) and examples/consumers/pkgconfig
// (pkg-config --cflags --libs kms_envelope); scripts/package_check.sh runs both against the
// installed tree and compares OPENED with INPUT.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/version.h"

namespace {

using kms_envelope::EncryptionContext;
using kms_envelope::envelope::Envelope;
using kms_envelope::envelope::EnvelopeOptions;
using kms_envelope::local::LocalKeyProvider;
using kms_envelope::local::LocalKeyStore;
using kms_envelope::local::LocalKeyStoreOptions;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

absl::Status WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return out.good() ? absl::OkStatus() : absl::InternalError("cannot write " + path);
}

absl::Status Run(const std::string& store_dir, const std::string& input,
                 const std::string& sealed_path, const std::string& opened_path) {
  LocalKeyStoreOptions store_options;
  store_options.directory = store_dir;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<LocalKeyStore> store, LocalKeyStore::Open(store_options));
  KMS_ASSIGN_OR_RETURN(auto cmk, store->CreateKey("consumer example"));
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<LocalKeyProvider> kms,
                       LocalKeyProvider::New(std::move(store)));
  EnvelopeOptions options;
  options.primary = {std::shared_ptr<kms_envelope::KeyProvider>(std::move(kms)), cmk.key_id};
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(options)));
  KMS_ASSIGN_OR_RETURN(EncryptionContext context,
                       EncryptionContext::FromJson(R"({"example":"consumer"})"));
  KMS_ASSIGN_OR_RETURN(std::string plaintext, ReadFile(input));
  KMS_ASSIGN_OR_RETURN(std::string sealed, env->Seal(plaintext, context));
  KMS_RETURN_IF_ERROR(WriteFile(sealed_path, sealed));
  KMS_ASSIGN_OR_RETURN(std::string opened, env->Open(sealed, context));
  return WriteFile(opened_path, opened);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s STORE_DIR INPUT SEALED OPENED\n", argv[0]);
    return 2;
  }
  absl::Status status = Run(argv[1], argv[2], argv[3], argv[4]);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("kms_envelope %s: sealed and opened %s\n", kms_envelope::kVersion, argv[2]);
  return 0;
}
