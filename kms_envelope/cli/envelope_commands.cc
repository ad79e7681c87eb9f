// kms-envelope encrypt | decrypt | inspect | rewrap.
//
//   kms-envelope encrypt --key-id alias/backup --context app=db -o db.kmse db.tar
//   kms-envelope decrypt -o db.tar db.kmse            # unnamed file, linked in on success
//   kms-envelope decrypt < db.kmse > db.tar           # stdout: verified frames only, exit 1 on failure
//   kms-envelope inspect db.kmse                      # header as JSON, no decryption
//   kms-envelope rewrap --key-id <new-guid> db.kmse backups/
//   kms-envelope decrypt --ciphertext-blob <b64> [--encryption-context '{"k":"v"}']  # KMS Decrypt
//
// Files: input is a path or "-" (stdin, the default); output is -o PATH or stdout, checked
// before the input is read (output_target.h: regular files appear only on success, devices,
// FIFOs and /dev/stdout are written in place like stdout, nothing else is ever replaced).
// Decrypting to stdout streams each frame as soon as its tag verifies; a failure mid-stream exits
// non-zero after the frames already written (consumers must check the exit status).
// --progress / --no-progress: a progress line on stderr (default when stderr is a terminal).
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/cli/cli_streams.h"
#include "kms_envelope/cli/key_commands.h"
#include "kms_envelope/cli/output_target.h"
#include "kms_envelope/cli/provider_factory.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/header_json.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/envelope/rewrap.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {
namespace {

using envelope::ByteSink;
using envelope::ByteSource;
using envelope::Envelope;
using envelope::EnvelopeOptions;
using envelope::FdSource;

struct EnvelopeArgs {
  std::string input = "-";
  std::string output = "-";
  std::string key_id;
  std::vector<std::string> additional_key_ids;
  std::vector<std::string> allowed_key_ids;
  std::vector<std::string> context;
  std::string suite = "aes-256-gcm";
  uint32_t frame_size = envelope::kDefaultFrameSize;
  std::string ciphertext_blob;
  std::string encryption_context_json;
  std::vector<std::string> paths;
  bool recursive = false;
  ProgressMode progress = ProgressMode::kAuto;
};

absl::StatusOr<EncryptionContext> ParseContextArgs(const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& arg : args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat("--context expects key=value, got \"", arg, "\""));
    }
    pairs.emplace_back(arg.substr(0, eq), arg.substr(eq + 1));
  }
  return EncryptionContext::FromPairs(pairs);
}

// Closes a descriptor on scope exit.
struct ScopedFd {
  int fd = -1;
  ~ScopedFd() {
    if (fd > 2) ::close(fd);
  }
};

absl::StatusOr<std::shared_ptr<KeyProvider>> Provider(const GlobalOptions& global) {
  auto provider = MakeProvider(global);
  if (!provider.ok()) return provider.status();
  return std::shared_ptr<KeyProvider>(std::move(*provider));
}

using StreamFn = std::function<absl::StatusOr<envelope::StreamResult>(ByteSource&, ByteSink&)>;

struct StreamOutcome {
  envelope::StreamResult result;
  bool to_stdout = false;  // the data went to stdout: no JSON summary after it
};

// Runs `stream` from args.input into the planned output, which (as a regular file) appears only
// when `stream` succeeded: on failure the unnamed output file is released. A progress line on
// stderr when asked for (or stderr is a terminal).
absl::StatusOr<std::unique_ptr<Envelope>> RewrapEnvelope(const GlobalOptions& global,
                                                         const EnvelopeArgs& args) {
  if (args.key_id.empty()) return KmsError(kms_code::kMissingParameter, "--key-id is required");
  if (args.paths.empty()) return KmsError(kms_code::kMissingParameter, "no file or directory given");
  KMS_ASSIGN_OR_RETURN(EncryptionContext required, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, Provider(global));
  EnvelopeOptions o;
  o.primary = {provider, args.key_id};
  for (const auto& k : args.additional_key_ids) o.additional.push_back({provider, k});
  o.allowed_key_ids = args.allowed_key_ids;
  o.required_context = required;
  return Envelope::New(std::move(o));
}

absl::StatusOr<StreamOutcome> StreamInputToOutput(const EnvelopeArgs& args,
                                                  const OutputPlan& plan, const StreamFn& stream) {
  uint64_t input_size = 0;
  KMS_ASSIGN_OR_RETURN(int in_fd, OpenInput(args.input, &input_size));
  ScopedFd in{in_fd};
  KMS_ASSIGN_OR_RETURN(CommandOutput out, CommandOutput::Open(plan));
  FdSource raw(in.fd);
  ProgressLine progress(WantProgress(args.progress), ProgressLine::Unit::kBytes, input_size);
  CountingSource source(raw, &progress);
  TaggedSink sink(out.fd());
  KMS_ASSIGN_OR_RETURN(envelope::StreamResult r, stream(source, sink));
  KMS_RETURN_IF_ERROR(out.Commit());
  progress.Finish("processed");
  return StreamOutcome{r, out.is_stdout()};
}

absl::StatusOr<nlohmann::json> RunEncrypt(const GlobalOptions& global, const EnvelopeArgs& args) {
  if (args.key_id.empty()) return KmsError(kms_code::kMissingParameter, "--key-id is required");
  KMS_ASSIGN_OR_RETURN(OutputPlan plan, PlanOutput(args.output));
  KMS_ASSIGN_OR_RETURN(EncryptionContext context, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(envelope::Suite suite, envelope::SuiteFromName(args.suite));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, Provider(global));
  EnvelopeOptions o;
  o.suite = suite;
  o.frame_size = args.frame_size;
  o.primary = {provider, args.key_id};
  for (const auto& k : args.additional_key_ids) o.additional.push_back({provider, k});
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(o)));
  KMS_ASSIGN_OR_RETURN(StreamOutcome outcome,
                       StreamInputToOutput(args, plan, [&](ByteSource& source, ByteSink& sink) {
                         return env->SealStream(source, sink, context);
                       }));
  if (outcome.to_stdout) return nlohmann::json();  // stdout holds the data: nothing more
  const envelope::StreamResult& r = outcome.result;
  return nlohmann::json{{"Input", args.input},
                                                 {"Output", args.output},
                                                 {"Suite", std::string(envelope::SuiteName(suite))},
                                                 {"PlaintextSize", r.plaintext_size},
                                                 {"SealedSize", r.sealed_size},
                                                 {"Frames", r.frames}};
}

absl::StatusOr<nlohmann::json> RunDecrypt(const GlobalOptions& global, const EnvelopeArgs& args) {
  if (!args.encryption_context_json.empty()) {
    return KmsError(kms_code::kInvalidParameter,
                    "--encryption-context goes with --ciphertext-blob; a sealed file's required "
                    "context is given as --context key=value");
  }
  KMS_ASSIGN_OR_RETURN(OutputPlan plan, PlanOutput(args.output));
  KMS_ASSIGN_OR_RETURN(EncryptionContext required, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, Provider(global));
  EnvelopeOptions o;
  o.decrypt_providers = {provider};
  o.allowed_key_ids = args.allowed_key_ids;
  o.required_context = required;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(o)));
  KMS_ASSIGN_OR_RETURN(StreamOutcome outcome,
                       StreamInputToOutput(args, plan, [&](ByteSource& source, ByteSink& sink) {
                         return env->OpenStream(source, sink, nullptr);
                       }));
  if (outcome.to_stdout) return nlohmann::json();  // stdout holds the data: nothing more
  const envelope::StreamResult& r = outcome.result;
  return nlohmann::json{{"Input", args.input},
                                                 {"Output", args.output},
                                                 {"PlaintextSize", r.plaintext_size},
                                                 {"Frames", r.frames}};
}

// Counts the bytes left in a source (constant memory).
absl::StatusOr<uint64_t> CountRemaining(ByteSource& source) {
  std::vector<uint8_t> buf(1 << 16);
  uint64_t total = 0;
  for (;;) {
    KMS_ASSIGN_OR_RETURN(size_t n, source.Read(absl::MakeSpan(buf)));
    if (n == 0) return total;
    total += n;
  }
}

absl::StatusOr<nlohmann::json> RunInspect(const EnvelopeArgs& args) {
  uint64_t file_size = 0;
  KMS_ASSIGN_OR_RETURN(int in_fd, OpenInput(args.input, &file_size));
  ScopedFd in{in_fd};
  FdSource raw(in.fd);
  CountingSource source(raw, nullptr);
  std::string header_bytes;
  KMS_ASSIGN_OR_RETURN(envelope::ParsedHeader parsed,
                           Envelope::ReadHeader(source, &header_bytes));
  KMS_ASSIGN_OR_RETURN(uint64_t rest, CountRemaining(source));
  const uint64_t sealed_size = header_bytes.size() + rest;
  // The one description of a header, shared with the C API (kmse_inspect) and the bindings.
  return nlohmann::json::parse(envelope::HeaderJson(parsed, sealed_size));
}

// Rewraps each path (file or directory); prints the per-path results, then fails when any file
// could not be rewrapped.
int RunRewrap(const GlobalOptions& global, const EnvelopeArgs& args) {
  absl::StatusOr<std::unique_ptr<Envelope>> env = RewrapEnvelope(global, args);
  if (!env.ok()) return ReportError(env.status());
  nlohmann::json results = nlohmann::json::array();
  size_t failed = 0;
  for (const std::string& path : args.paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      auto r = envelope::RewrapDirectory(**env, path, nullptr);
      if (!r.ok()) return ReportError(r.status());
      results.push_back({{"Path", path},
                         {"Rewrapped", r->rewrapped},
                         {"AlreadyDone", r->already_done},
                         {"NotEnvelopes", r->not_envelopes},
                         {"Failed", r->failed}});
      failed += r->failed.size();
    } else {
      absl::Status s = envelope::RewrapFile(**env, path, nullptr);
      nlohmann::json item = {{"Path", path}, {"Rewrapped", s.ok()}};
      if (!s.ok()) {
        const std::string code = KmsCodeOrDefault(s);
        item["Code"] = code;
        item["Message"] = std::string(s.message());
        ++failed;
      }
      results.push_back(item);
    }
  }
  const int printed = PrintStateResult(nlohmann::json{{"Results", results}});
  if (printed != kExitOk || failed == 0) return printed;
  return ReportError(KmsError(kms_code::kInvalidParameter,
                              absl::StrCat(failed, " file(s) could not be rewrapped (see Results)")));
}

void AddCommonEnvelopeFlags(CLI::App* cmd, EnvelopeArgs& args) {
  cmd->add_option("--context", args.context,
                  "key=value the message's encryption context must contain (repeatable)");
  cmd->add_option("--allow-key-id", args.allowed_key_ids,
                  "only unwrap data keys wrapped by this CMK GUID (repeatable)");
}

void AddProgressFlags(CLI::App* cmd, EnvelopeArgs& args) {
  cmd->add_flag_callback("--progress", [&args] { args.progress = ProgressMode::kOn; },
                         "progress line on stderr (default: when stderr is a terminal)");
  cmd->add_flag_callback("--no-progress", [&args] { args.progress = ProgressMode::kOff; },
                         "no progress line");
}

void RegisterEncrypt(CLI::App& app, GlobalOptions& options, std::shared_ptr<EnvelopeArgs> args) {
  CLI::App* enc = app.add_subcommand("encrypt", "seal a file or stdin under a CMK (envelope)");
  enc->add_option("input", args->input, "input file (default -, stdin)")->type_name(kPathType);
  enc->add_option("-o,--output", args->output, "output file (default -, stdout)")
      ->type_name(kPathType);
  enc->add_option("--key-id", args->key_id, "CMK GUID or alias/<name>")->required();
  enc->add_option("--additional-key-id", args->additional_key_ids,
                  "also wrap the data key under this CMK (repeatable)");
  enc->add_option("--context", args->context, "encryption context pair key=value (repeatable)");
  enc->add_option("--suite", args->suite, "aes-256-gcm | xchacha20-poly1305")
      ->check(CLI::IsMember({"aes-256-gcm", "xchacha20-poly1305"}));
  enc->add_option("--frame-size", args->frame_size, "frame size in bytes (default 65536)")
      ->check(CLI::Range(envelope::kMinFrameSize, envelope::kMaxFrameSize));
  AddProgressFlags(enc, *args);
  enc->callback([&options, args]() { options.exit_code = FinishCommand(RunEncrypt(options, *args)); });
}

// `decrypt --ciphertext-blob` is the KMS Decrypt call: the file flags mean nothing there and
// are refused rather than ignored (and --encryption-context means nothing for a file).
absl::Status CheckBlobFlags(const CLI::App* dec) {
  for (const char* file_flag : {"input", "--output", "--context", "--allow-key-id", "--progress",
                                "--no-progress"}) {
    if (dec->count(file_flag) > 0) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat(file_flag, " does not apply to --ciphertext-blob (the KMS "
                                              "Decrypt call prints the data key as JSON)"));
    }
  }
  return absl::OkStatus();
}

void RegisterDecrypt(CLI::App& app, GlobalOptions& options, std::shared_ptr<EnvelopeArgs> args) {
  CLI::App* dec = app.add_subcommand(
      "decrypt",
      "open a sealed file or stdin; or, with --ciphertext-blob, the KMS Decrypt call");
  dec->add_option("input", args->input, "sealed file (default -, stdin)")->type_name(kPathType);
  dec->add_option("-o,--output", args->output,
                  "output file (default -, stdout; stdout receives verified frames only and a "
                  "failure mid-stream exits non-zero)")
      ->type_name(kPathType);
  AddCommonEnvelopeFlags(dec, *args);
  dec->add_option("--ciphertext-blob", args->ciphertext_blob,
                  "KMS Decrypt of a base64 CiphertextBlob (no file)");
  dec->add_option("--encryption-context", args->encryption_context_json,
                  "JSON encryption context for --ciphertext-blob");
  AddProgressFlags(dec, *args);
  dec->callback([&options, args, dec]() {
    if (dec->count("--ciphertext-blob") > 0) {
      absl::Status flags = CheckBlobFlags(dec);
      options.exit_code = flags.ok() ? RunKmsDecrypt(options, args->ciphertext_blob,
                                                     args->encryption_context_json)
                                     : ReportError(flags);
      return;
    }
    options.exit_code = FinishCommand(RunDecrypt(options, *args));
  });
}

}  // namespace

void RegisterEnvelopeCommands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<EnvelopeArgs>();
  RegisterEncrypt(app, options, args);
  RegisterDecrypt(app, options, args);

  CLI::App* ins = app.add_subcommand("inspect", "print a sealed file's header as JSON (no decryption)");
  ins->add_option("input", args->input, "sealed file (default -, stdin)")->type_name(kPathType);
  ins->callback([&options, args]() { options.exit_code = FinishCommand(RunInspect(*args)); });

  CLI::App* rew = app.add_subcommand(
      "rewrap", "replace the wrapped data keys of sealed files (payload untouched)");
  rew->add_option("paths", args->paths, "sealed files and/or directories")
      ->required()
      ->type_name(kPathType);
  rew->add_option("--key-id", args->key_id, "new primary CMK GUID or alias/<name>")->required();
  rew->add_option("--additional-key-id", args->additional_key_ids,
                  "also wrap under this CMK (repeatable)");
  AddCommonEnvelopeFlags(rew, *args);
  rew->callback([&options, args]() { options.exit_code = RunRewrap(options, *args); });
}

}  // namespace cli
}  // namespace kms_envelope
