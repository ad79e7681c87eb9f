// `key`, `alias` and `datakey` subcommands over the local CMK store.
//
//   kms-envelope key create --description backups        {"KeyMetadata":{...}}
//   kms-envelope alias create --alias-name alias/backup --key-id <id>
//   kms-envelope datakey generate --key-id alias/backup --encryption-context '{"a":"b"}'
//   kms-envelope datakey decrypt --ciphertext-blob <b64> --encryption-context '{"a":"b"}'
//
// Output is the API's JSON response shape; errors are {"Code","Message"} on stderr with exit
// status kExitError. Plaintext data keys are written to stdout straight from SecretBytes (no
// std::string ever holds them).
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/cli/key_commands.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/cli/provider_factory.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_api/key_metadata_json.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace cli {
namespace {

using json = nlohmann::json;

std::string NewRequestId() {
  std::string id;
  internal::RandomUuidInto(&id);
  return id;
}

json KeyMetadataJson(const local::KeyMetadata& m) {
  json j = kms_api::KeyMetadataJson<json>(m);
  j["PrimaryKeyVersionWrapCount"] = m.primary_key_version_wrap_count;  // the CLI's own field
  return j;
}

json WithMetadata(const local::KeyMetadata& m) {
  return {{"KeyMetadata", KeyMetadataJson(m)}, {"RequestId", NewRequestId()}};
}

json AliasesJson(const std::vector<local::AliasMetadata>& aliases) {
  json list = json::array();
  for (const auto& a : aliases) {
    list.push_back({{"AliasName", a.alias_name}, {"AliasArn", a.alias_arn}, {"KeyId", a.key_id}});
  }
  return {{"Aliases", {{"Alias", std::move(list)}}},
          {"TotalCount", aliases.size()},
          {"PageNumber", 1},
          {"PageSize", aliases.size()},
          {"RequestId", NewRequestId()}};
}

int Finish(GlobalOptions& options, const absl::Status& status) {
  options.exit_code = status.ok() ? kExitOk : ReportError(status);
  return options.exit_code;
}

// Opens the local store, runs `fn`, prints its JSON or the error.
int RunWithStore(GlobalOptions& options,
                 const std::function<absl::StatusOr<json>(local::LocalKeyStore&)>& fn) {
  absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> store = OpenLocalStore(options);
  if (!store.ok()) return Finish(options, store.status());
  absl::StatusOr<json> out = fn(**store);
  if (!out.ok()) return Finish(options, out.status());
  // Most of these commands changed the store: a result that cannot be printed goes to stderr.
  options.exit_code = PrintStateResult(*out);
  return options.exit_code;
}

absl::StatusOr<EncryptionContext> ParseContext(const std::string& context_json) {
  return EncryptionContext::FromJson(context_json);
}

absl::Status StdoutFailed() {
  const int err = errno;
  std::clearerr(stdout);
  return KmsError(cli_code::kWriteFailed,
                  absl::StrCat("cannot write to stdout: ", std::strerror(err != 0 ? err : EIO)));
}

// Writes `"Plaintext":"<base64>"` from secret memory straight to stdout.
absl::Status WriteSecretBase64(const SecretBytes& secret) {
  KMS_ASSIGN_OR_RETURN(SecretBytes text,
                       SecretBytes::New(internal::Base64EncodedSize(secret.size())));
  internal::Base64EncodeTo(secret.span(), text.mutable_span());
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) return StdoutFailed();
  return absl::OkStatus();
}

// Prints {"CiphertextBlob"?, "KeyId", "KeyVersionId", "Plaintext", "RequestId"}. Every value but
// the plaintext is base64 or an id, so the object is assembled without a JSON library copying
// the secret.
absl::Status PrintKeyResponse(const std::string* ciphertext_blob, const std::string& key_id,
                              const std::string& key_version_id, const SecretBytes& plaintext,
                              const std::string& request_id) {
  json head = json::object();
  if (ciphertext_blob != nullptr) {
    head["CiphertextBlob"] = internal::Base64Encode(*ciphertext_blob);
  }
  head["KeyId"] = key_id;
  head["KeyVersionId"] = key_version_id;
  std::string prefix = DumpJson(head);
  prefix.pop_back();  // drop '}'
  prefix += ",\"Plaintext\":\"";
  errno = 0;
  if (std::fputs(prefix.c_str(), stdout) < 0) return StdoutFailed();
  KMS_RETURN_IF_ERROR(WriteSecretBase64(plaintext));
  std::string suffix = absl::StrCat("\",\"RequestId\":", DumpJson(json(request_id)), "}\n");
  if (std::fputs(suffix.c_str(), stdout) < 0 || std::fflush(stdout) != 0) return StdoutFailed();
  return absl::OkStatus();
}

struct KeyArgs {
  std::string description;
  std::string key_id;
  int pending_window_in_days = 30;
  std::string alias_name;
  std::string key_spec;
  std::string number_of_bytes;  // parsed here: CLI11 clamps an out-of-range integer
  std::string encryption_context;
  std::string ciphertext_blob;
};

using StoreFn = std::function<absl::StatusOr<json>(local::LocalKeyStore&)>;

// `cmd` runs `fn` on the local store when chosen.
void OnStore(CLI::App* cmd, GlobalOptions& options, StoreFn fn) {
  cmd->callback([&options, fn = std::move(fn)] { RunWithStore(options, fn); });
}

// A subcommand of `group` that requires --key-id (a GUID or alias/<name>).
CLI::App* KeyIdCommand(CLI::App* group, const char* name, const char* help, KeyArgs& args) {
  CLI::App* cmd = group->add_subcommand(name, help);
  cmd->add_option("--key-id", args.key_id, "KeyId or alias/<name>")->required();
  return cmd;
}

// {"KeyMetadata", "RequestId"} of the key a store call returned, or its error.
absl::StatusOr<json> MetadataResult(absl::StatusOr<local::KeyMetadata> m) {
  if (!m.ok()) return m.status();
  return WithMetadata(*m);
}

absl::StatusOr<json> ListKeysJson(local::LocalKeyStore& store) {
  KMS_ASSIGN_OR_RETURN(std::vector<local::KeyMetadata> keys, store.ListKeys());
  json items = json::array();
  for (const auto& k : keys) items.push_back({{"KeyId", k.key_id}, {"KeyArn", k.arn}});
  return json{{"Keys", {{"Key", std::move(items)}}},
              {"TotalCount", keys.size()},
              {"PageNumber", 1},
              {"PageSize", keys.size()},
              {"RequestId", NewRequestId()}};
}

absl::StatusOr<json> PurgeDeletedJson(local::LocalKeyStore& store) {
  KMS_ASSIGN_OR_RETURN(std::vector<std::string> purged, store.PurgeDeletedKeys());
  return json{{"PurgedKeyIds", purged}, {"RequestId", NewRequestId()}};
}

absl::StatusOr<json> RotateJson(local::LocalKeyStore& store, const std::string& key_id) {
  KMS_ASSIGN_OR_RETURN(std::string version, store.RotateKey(key_id));
  KMS_ASSIGN_OR_RETURN(local::KeyMetadata m, store.DescribeKey(key_id));
  return json{{"KeyVersion",
               {{"KeyId", m.key_id}, {"KeyVersionId", version}, {"CreationDate", m.last_rotation_date}}},
              {"RequestId", NewRequestId()}};
}

void RegisterKey(CLI::App& app, GlobalOptions& options) {
  CLI::App* key =
      AddCommandGroup(app, "key", "manage customer master keys (CMKs) in the local store");
  auto args = std::make_shared<KeyArgs>();

  CLI::App* create = key->add_subcommand("create", "CreateKey: a new Enabled CMK");
  create->add_option("--description", args->description, "Description");
  OnStore(create, options, [args](local::LocalKeyStore& store) {
    return MetadataResult(store.CreateKey(args->description));
  });
  OnStore(KeyIdCommand(key, "describe", "DescribeKey", *args), options,
          [args](local::LocalKeyStore& store) { return MetadataResult(store.DescribeKey(args->key_id)); });
  OnStore(key->add_subcommand("list", "ListKeys"), options, ListKeysJson);

  using StateOp = absl::StatusOr<local::KeyMetadata> (local::LocalKeyStore::*)(std::string_view);
  const struct {
    const char* name;
    const char* help;
    StateOp op;
  } state_ops[] = {
      {"enable", "EnableKey", &local::LocalKeyStore::EnableKey},
      {"disable", "DisableKey", &local::LocalKeyStore::DisableKey},
      {"cancel-deletion", "CancelKeyDeletion (the key becomes Enabled)",
       &local::LocalKeyStore::CancelKeyDeletion},
  };
  for (const auto& s : state_ops) {
    OnStore(KeyIdCommand(key, s.name, s.help, *args), options,
            [args, op = s.op](local::LocalKeyStore& store) {
              return MetadataResult((store.*op)(args->key_id));
            });
  }

  CLI::App* schedule = KeyIdCommand(key, "schedule-deletion", "ScheduleKeyDeletion", *args);
  schedule->add_option("--pending-window-in-days", args->pending_window_in_days,
                       "PendingWindowInDays (7..30, default 30)");
  OnStore(schedule, options, [args](local::LocalKeyStore& store) {
    return MetadataResult(store.ScheduleKeyDeletion(args->key_id, args->pending_window_in_days));
  });
  OnStore(key->add_subcommand("purge-deleted",
                              "destroy the PendingDeletion keys whose DeleteDate has passed "
                              "(their blobs can never be decrypted again)"),
          options, PurgeDeletedJson);
  OnStore(KeyIdCommand(key, "rotate", "CreateKeyVersion: a new primary version", *args), options,
          [args](local::LocalKeyStore& store) { return RotateJson(store, args->key_id); });
}

void RegisterAlias(CLI::App& app, GlobalOptions& options) {
  CLI::App* alias = AddCommandGroup(app, "alias", "manage CMK aliases in the local store");
  auto args = std::make_shared<KeyArgs>();

  CLI::App* create = alias->add_subcommand("create", "CreateAlias");
  create->add_option("--alias-name", args->alias_name, "alias/<name>")->required();
  create->add_option("--key-id", args->key_id, "KeyId")->required();
  create->callback([&options, args] {
    RunWithStore(options, [&](local::LocalKeyStore& store) -> absl::StatusOr<json> {
      KMS_RETURN_IF_ERROR(store.CreateAlias(args->alias_name, args->key_id));
      return json{{"RequestId", NewRequestId()}};
    });
  });

  CLI::App* remove = alias->add_subcommand("delete", "DeleteAlias");
  remove->add_option("--alias-name", args->alias_name, "alias/<name>")->required();
  remove->callback([&options, args] {
    RunWithStore(options, [&](local::LocalKeyStore& store) -> absl::StatusOr<json> {
      KMS_RETURN_IF_ERROR(store.DeleteAlias(args->alias_name));
      return json{{"RequestId", NewRequestId()}};
    });
  });

  CLI::App* list = alias->add_subcommand("list", "ListAliases / ListAliasesByKeyId");
  list->add_option("--key-id", args->key_id, "only the aliases of this key");
  list->callback([&options, args] {
    RunWithStore(options, [&](local::LocalKeyStore& store) -> absl::StatusOr<json> {
      if (args->key_id.empty()) {
        KMS_ASSIGN_OR_RETURN(auto aliases, store.ListAliases());
        return AliasesJson(aliases);
      }
      KMS_ASSIGN_OR_RETURN(auto aliases, store.ListAliasesByKeyId(args->key_id));
      return AliasesJson(aliases);
    });
  });
}

// A decimal integer as given (no sign games, no clamping); the provider checks 1..1024.
absl::StatusOr<int64_t> ParseNumberOfBytes(const std::string& text) {
  int64_t n = 0;
  const bool digits = !text.empty() && text.size() <= 18 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || !absl::SimpleAtoi(text, &n)) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("NumberOfBytes must be an integer in 1..1024, got \"", text, "\""));
  }
  return n;
}

int RunGenerateDataKey(GlobalOptions& options, const KeyArgs& args) {
  absl::StatusOr<EncryptionContext> context = ParseContext(args.encryption_context);
  if (!context.ok()) return Finish(options, context.status());
  absl::StatusOr<std::shared_ptr<KeyProvider>> kms = MakeProvider(options);
  if (!kms.ok()) return Finish(options, kms.status());
  GenerateDataKeyRequest request;
  request.key_id = args.key_id;
  request.key_spec = args.key_spec;
  if (!args.number_of_bytes.empty()) {
    absl::StatusOr<int64_t> n = ParseNumberOfBytes(args.number_of_bytes);
    if (!n.ok()) return Finish(options, n.status());
    request.number_of_bytes = *n;
  }
  request.encryption_context = &*context;
  GenerateDataKeyResponse response;
  absl::Status status = (*kms)->GenerateDataKeyInto(request, &response);
  if (!status.ok()) return Finish(options, status);
  return Finish(options, PrintKeyResponse(&response.ciphertext_blob, response.key_id,
                                          response.key_version_id, response.plaintext,
                                          response.request_id));
}

void RegisterDataKey(CLI::App& app, GlobalOptions& options) {
  CLI::App* datakey = AddCommandGroup(app, "datakey", "GenerateDataKey / Decrypt");
  auto args = std::make_shared<KeyArgs>();

  CLI::App* generate = datakey->add_subcommand("generate", "GenerateDataKey");
  generate->add_option("--key-id", args->key_id, "KeyId or alias/<name>")->required();
  generate->add_option("--key-spec", args->key_spec, "AES_256 (default) or AES_128");
  generate->add_option("--number-of-bytes", args->number_of_bytes,
                       "1..1024; wins over --key-spec");
  generate->add_option("--encryption-context", args->encryption_context,
                       "EncryptionContext as a JSON object of strings");
  generate->callback([&options, args] { RunGenerateDataKey(options, *args); });

  CLI::App* decrypt = datakey->add_subcommand("decrypt", "Decrypt a CiphertextBlob");
  decrypt->add_option("--ciphertext-blob", args->ciphertext_blob, "CiphertextBlob (base64)")
      ->required();
  decrypt->add_option("--encryption-context", args->encryption_context,
                      "EncryptionContext used when the key was generated");
  decrypt->callback([&options, args] {
    RunKmsDecrypt(options, args->ciphertext_blob, args->encryption_context);
  });
}

}  // namespace

int RunKmsDecrypt(GlobalOptions& options, const std::string& ciphertext_blob_b64,
                  const std::string& context_json) {
  absl::StatusOr<EncryptionContext> context = ParseContext(context_json);
  if (!context.ok()) return Finish(options, context.status());
  if (ciphertext_blob_b64.size() > internal::Base64EncodedSize(kMaxCiphertextBlobSize)) {
    return Finish(options, KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is too long"));
  }
  absl::StatusOr<std::string> blob =
      internal::Base64Decode(ciphertext_blob_b64, kMaxCiphertextBlobSize);
  if (!blob.ok()) {
    return Finish(options,
                  KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is not valid base64"));
  }
  absl::StatusOr<std::shared_ptr<KeyProvider>> kms = MakeProvider(options);
  if (!kms.ok()) return Finish(options, kms.status());
  DecryptRequest request;
  request.ciphertext_blob = internal::Bytes(*blob);
  request.encryption_context = &*context;
  DecryptResponse response;
  absl::Status status = (*kms)->DecryptInto(request, &response);
  if (!status.ok()) return Finish(options, status);
  return Finish(options, PrintKeyResponse(nullptr, response.key_id, response.key_version_id,
                                          response.plaintext, response.request_id));
}

void RegisterKeyCommands(CLI::App& app, GlobalOptions& options) {
  RegisterKey(app, options);
  RegisterAlias(app, options);
  RegisterDataKey(app, options);
}

}  // namespace cli
}  // namespace kms_envelope
