// kms-envelope encrypt | decrypt | inspect (rewrap: rewrap_command.cc).
//
//   kms-envelope encrypt --key-id alias/backup --context app=db -o db.kmse db.tar
//   kms-envelope decrypt -o db.tar db.kmse            # unnamed file, linked in on success
//   kms-envelope decrypt < db.kmse > db.tar           # stdout: verified frames only, exit 1 on failure
//   kms-envelope inspect db.kmse                      # header as JSON, no decryption
//   kms-envelope decrypt --ciphertext-blob <b64> [--encryption-context '{"k":"v"}']  # KMS Decrypt
//
// Files: input is a path or "-" (stdin, the default); output is -o PATH or stdout, checked
// before the input is read (output_target.h: regular files appear only on success, devices,
// FIFOs and /dev/stdout are written in place like stdout, nothing else is ever replaced).
// Decrypting to stdout streams each frame as soon as its tag verifies; a failure mid-stream exits
// non-zero after the frames already written (consumers must check the exit status).
// --progress / --no-progress: a progress line on stderr (default when stderr is a terminal).
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/cli/cli_streams.h"
#include "kms_envelope/cli/envelope_args.h"
#include "kms_envelope/cli/key_commands.h"
#include "kms_envelope/cli/output_target.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/header_json.h"
#include "kms_envelope/envelope/format.h"
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

// Closes a descriptor on scope exit.
struct ScopedFd {
  int fd = -1;
  ~ScopedFd() {
    if (fd > 2) ::close(fd);
  }
};

using StreamFn = std::function<absl::StatusOr<envelope::StreamResult>(ByteSource&, ByteSink&)>;

// Runs `stream` from args.input into the planned output, which (as a regular file) appears only
// when `stream` succeeded: on failure the unnamed output file is released. A progress line on
// stderr when asked for (or stderr is a terminal). Returns the JSON summary, or null when the
// data went to stdout (nothing may follow it there).
absl::StatusOr<nlohmann::json> StreamSummary(const EnvelopeArgs& args, const OutputPlan& plan,
                                             const StreamFn& stream) {
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
  if (out.is_stdout()) return nlohmann::json();
  return nlohmann::json{{"Input", args.input},
                        {"Output", args.output},
                        {"PlaintextSize", r.plaintext_size},
                        {"SealedSize", r.sealed_size},
                        {"Frames", r.frames}};
}

absl::StatusOr<nlohmann::json> RunEncrypt(const GlobalOptions& global, const EnvelopeArgs& args) {
  if (args.key_id.empty()) return KmsError(kms_code::kMissingParameter, "--key-id is required");
  KMS_ASSIGN_OR_RETURN(OutputPlan plan, PlanOutput(args.output));
  KMS_ASSIGN_OR_RETURN(EncryptionContext context, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(envelope::Suite suite, envelope::SuiteFromName(args.suite));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, SharedProvider(global));
  EnvelopeOptions o;
  o.suite = suite;
  o.frame_size = args.frame_size;
  o.primary = {provider, args.key_id};
  for (const auto& k : args.additional_key_ids) o.additional.push_back({provider, k});
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(o)));
  KMS_ASSIGN_OR_RETURN(nlohmann::json summary,
                       StreamSummary(args, plan, [&](ByteSource& source, ByteSink& sink) {
                         return env->SealStream(source, sink, context);
                       }));
  if (!summary.is_null()) summary["Suite"] = std::string(envelope::SuiteName(suite));
  return summary;
}

absl::StatusOr<nlohmann::json> RunDecrypt(const GlobalOptions& global, const EnvelopeArgs& args) {
  if (!args.encryption_context_json.empty()) {
    return KmsError(kms_code::kInvalidParameter,
                    "--encryption-context goes with --ciphertext-blob; a sealed file's required "
                    "context is given as --context key=value");
  }
  KMS_ASSIGN_OR_RETURN(OutputPlan plan, PlanOutput(args.output));
  KMS_ASSIGN_OR_RETURN(EncryptionContext required, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, SharedProvider(global));
  EnvelopeOptions o;
  o.decrypt_providers = {provider};
  o.allowed_key_ids = args.allowed_key_ids;
  o.required_context = required;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(o)));
  return StreamSummary(args, plan, [&](ByteSource& source, ByteSink& sink) {
    return env->OpenStream(source, sink, nullptr);
  });
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

}

}  // namespace cli
}  // namespace kms_envelope
