// kms-envelope encrypt | decrypt | inspect | rewrap.
//
//   kms-envelope encrypt --key-id alias/backup --context app=db -o db.kmse db.tar
//   kms-envelope decrypt -o db.tar db.kmse            # temp file + rename; removed on failure
//   kms-envelope decrypt < db.kmse > db.tar           # stdout: verified frames only, exit 1 on failure
//   kms-envelope inspect db.kmse                      # header as JSON, no decryption
//   kms-envelope rewrap --key-id <new-guid> db.kmse backups/
//   kms-envelope decrypt --ciphertext-blob <b64> [--encryption-context '{"k":"v"}']  # KMS Decrypt
//
// Files: input is a path or "-" (stdin, the default); output is -o PATH or stdout. File outputs
// are written to a temporary file in the output's directory, fsync'ed and renamed into place
// only on success, so a failed decrypt never leaves plaintext of an unauthenticated message.
// Decrypting to stdout streams each frame as soon as its tag verifies; a failure mid-stream exits
// non-zero after the frames already written (consumers must check the exit status).
// A progress bar goes to stderr when stderr is a terminal and the input is over 64 MiB.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/cli/key_commands.h"
#include "kms_envelope/cli/provider_factory.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/envelope/rewrap.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/unnamed_file.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {
namespace {

using envelope::ByteSink;
using envelope::ByteSource;
using envelope::Envelope;
using envelope::EnvelopeOptions;
using envelope::FdSink;
using envelope::FdSource;

constexpr uint64_t kProgressThreshold = uint64_t{64} << 20;

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

absl::Status Errno(const std::string& what) {
  return absl::DataLossError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<int> OpenInput(const std::string& path, uint64_t* size) {
  *size = 0;
  if (path == "-") return STDIN_FILENO;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open " + path);
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// An output file that appears under its name only when committed. Until then it has no name
// (O_TMPFILE, internal/unnamed_file.h): a killed `decrypt -o` leaves no plaintext prefix behind.
class AtomicOutput {
 public:
  absl::Status Open(const std::string& path) {
    if (path == "-") {
      fd_ = STDOUT_FILENO;
      return absl::OkStatus();
    }
    path_ = path;
    std::filesystem::path p(path);
    std::string dir = p.parent_path().string();
    if (dir.empty()) dir = ".";
    absl::StatusOr<internal::UnnamedFile> file =
        internal::UnnamedFile::Create(dir, p.filename().string() + ".kmse-partial");
    if (!file.ok()) {
      return absl::DataLossError(absl::StrCat("cannot create the output in ", dir, ": ",
                                              file.status().message()));
    }
    file_.emplace(*std::move(file));
    fd_ = file_->fd();
    return absl::OkStatus();
  }
  int fd() const { return fd_; }
  absl::Status Commit() {
    if (!file_.has_value()) return absl::OkStatus();
    absl::Status s = file_->Replace(path_);
    fd_ = -1;
    return s;
  }

 private:
  std::string path_;
  std::optional<internal::UnnamedFile> file_;  // uncommitted: released (and gone) on destruction
  int fd_ = -1;
};

// Counts bytes through a source and draws a progress bar on stderr.
class ProgressSource : public ByteSource {
 public:
  ProgressSource(ByteSource& inner, uint64_t total, bool enabled)
      : inner_(inner), total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
  ~ProgressSource() override {
    if (enabled_ && drawn_) std::fputs("\n", stderr);
  }
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    absl::StatusOr<size_t> n = inner_.Read(out);
    if (n.ok() && enabled_) {
      done_ += *n;
      Draw();
    }
    return n;
  }

 private:
  void Draw() {
    const int percent = total_ == 0 ? 100 : static_cast<int>(done_ * 100 / total_);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    drawn_ = true;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double mib = static_cast<double>(done_) / (1 << 20);
    char bar[41];
    const int filled = percent * 40 / 100;
    for (int i = 0; i < 40; ++i) bar[i] = i < filled ? '#' : '.';
    bar[40] = '\0';
    std::fprintf(stderr, "\r[%s] %3d%% %.0f MiB %.0f MiB/s", bar, percent, mib,
                 secs > 0 ? mib / secs : 0.0);
    std::fflush(stderr);
  }
  ByteSource& inner_;
  uint64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  uint64_t done_ = 0;
  int last_percent_ = -1;
  bool drawn_ = false;
};

bool WantProgress(uint64_t input_size) {
  return ::isatty(STDERR_FILENO) == 1 && input_size > kProgressThreshold;
}

absl::StatusOr<std::shared_ptr<KeyProvider>> Provider(const GlobalOptions& global) {
  auto provider = MakeProvider(global);
  if (!provider.ok()) return provider.status();
  return std::shared_ptr<KeyProvider>(std::move(*provider));
}

// Runs `stream` from args.input (with a progress line for large inputs) into args.output, which
// appears only when `stream` succeeded: on failure the uncommitted temporary file is deleted.
absl::StatusOr<envelope::StreamResult> StreamInputToOutput(
    const EnvelopeArgs& args,
    const std::function<absl::StatusOr<envelope::StreamResult>(ByteSource&, ByteSink&)>& stream) {
  uint64_t input_size = 0;
  KMS_ASSIGN_OR_RETURN(int in_fd, OpenInput(args.input, &input_size));
  ScopedFd in{in_fd};
  AtomicOutput out;
  KMS_RETURN_IF_ERROR(out.Open(args.output));
  FdSource raw(in.fd);
  ProgressSource source(raw, input_size, WantProgress(input_size));
  FdSink sink(out.fd());
  KMS_ASSIGN_OR_RETURN(envelope::StreamResult r, stream(source, sink));
  KMS_RETURN_IF_ERROR(out.Commit());
  return r;
}

absl::Status RunEncrypt(const GlobalOptions& global, const EnvelopeArgs& args) {
  if (args.key_id.empty()) return KmsError(kms_code::kMissingParameter, "--key-id is required");
  KMS_ASSIGN_OR_RETURN(EncryptionContext context, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(envelope::Suite suite, envelope::SuiteFromName(args.suite));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, Provider(global));
  EnvelopeOptions o;
  o.suite = suite;
  o.frame_size = args.frame_size;
  o.primary = {provider, args.key_id};
  for (const auto& k : args.additional_key_ids) o.additional.push_back({provider, k});
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(o)));
  KMS_ASSIGN_OR_RETURN(envelope::StreamResult r,
                       StreamInputToOutput(args, [&](ByteSource& source, ByteSink& sink) {
                         return env->SealStream(source, sink, context);
                       }));
  if (args.output != "-") {
    PrintJson(nlohmann::json{{"Input", args.input},
                             {"Output", args.output},
                             {"Suite", std::string(envelope::SuiteName(suite))},
                             {"PlaintextSize", r.plaintext_size},
                             {"SealedSize", r.sealed_size},
                             {"Frames", r.frames}}
                  .dump());
  }
  return absl::OkStatus();
}

absl::Status RunDecrypt(const GlobalOptions& global, const EnvelopeArgs& args) {
  KMS_ASSIGN_OR_RETURN(EncryptionContext required, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, Provider(global));
  EnvelopeOptions o;
  o.decrypt_providers = {provider};
  o.allowed_key_ids = args.allowed_key_ids;
  o.required_context = required;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(o)));
  KMS_ASSIGN_OR_RETURN(envelope::StreamResult r,
                       StreamInputToOutput(args, [&](ByteSource& source, ByteSink& sink) {
                         return env->OpenStream(source, sink, nullptr);
                       }));
  if (args.output != "-") {
    PrintJson(nlohmann::json{{"Input", args.input},
                             {"Output", args.output},
                             {"PlaintextSize", r.plaintext_size},
                             {"Frames", r.frames}}
                  .dump());
  }
  return absl::OkStatus();
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

absl::Status RunInspect(const EnvelopeArgs& args) {
  uint64_t file_size = 0;
  KMS_ASSIGN_OR_RETURN(int in_fd, OpenInput(args.input, &file_size));
  ScopedFd in{in_fd};
  FdSource source(in.fd);
  std::string header_bytes;
  KMS_ASSIGN_OR_RETURN(envelope::ParsedHeader parsed,
                           Envelope::ReadHeader(source, &header_bytes));
  KMS_ASSIGN_OR_RETURN(uint64_t rest, CountRemaining(source));
  const uint64_t sealed_size = header_bytes.size() + rest;
  const envelope::MessageHeader& h = parsed.header;
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : h.wrapped_keys) {
    keys.push_back({{"ProviderId", k.provider_id},
                    {"KeyId", k.key_id},
                    {"KeyVersionId", k.key_version_id},
                    {"CiphertextBlob", internal::Base64Encode(k.ciphertext_blob)}});
  }
  nlohmann::json context = nlohmann::json::object();
  for (const auto& [k, v] : h.context.pairs()) context[k] = v;
  nlohmann::json out = {{"FormatVersion", envelope::kFormatVersion},
                        {"Suite", std::string(envelope::SuiteName(h.suite))},
                        {"FrameSize", h.frame_size},
                        {"MessageId", internal::HexEncode(absl::MakeConstSpan(h.message_id))},
                        {"WrappedKeys", keys},
                        {"EncryptionContext", context},
                        {"HeaderSize", parsed.header_size},
                        {"SealedSize", sealed_size}};
  auto plaintext_size =
      envelope::PlaintextSizeForPayload(sealed_size - parsed.header_size, h.frame_size);
  if (plaintext_size.ok()) {
    out["PlaintextSize"] = *plaintext_size;
    out["Frames"] = envelope::FrameCount(*plaintext_size, h.frame_size);
  } else {
    out["PlaintextSize"] = nullptr;  // the payload length is impossible (truncated?)
  }
  out["Authenticated"] = false;  // inspect never decrypts
  PrintJson(out.dump());
  return absl::OkStatus();
}

absl::Status RunRewrap(const GlobalOptions& global, const EnvelopeArgs& args) {
  if (args.key_id.empty()) return KmsError(kms_code::kMissingParameter, "--key-id is required");
  if (args.paths.empty()) return KmsError(kms_code::kMissingParameter, "no file or directory given");
  KMS_ASSIGN_OR_RETURN(EncryptionContext required, ParseContextArgs(args.context));
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, Provider(global));
  EnvelopeOptions o;
  o.primary = {provider, args.key_id};
  for (const auto& k : args.additional_key_ids) o.additional.push_back({provider, k});
  o.allowed_key_ids = args.allowed_key_ids;
  o.required_context = required;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<Envelope> env, Envelope::New(std::move(o)));
  nlohmann::json results = nlohmann::json::array();
  bool all_ok = true;
  for (const std::string& path : args.paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      auto r = envelope::RewrapDirectory(*env, path, nullptr);
      if (!r.ok()) return r.status();
      results.push_back({{"Path", path},
                         {"Rewrapped", r->rewrapped},
                         {"AlreadyDone", r->already_done},
                         {"NotEnvelopes", r->not_envelopes},
                         {"Failed", r->failed}});
      all_ok = all_ok && r->failed.empty();
    } else {
      absl::Status s = envelope::RewrapFile(*env, path, nullptr);
      nlohmann::json item = {{"Path", path}, {"Rewrapped", s.ok()}};
      if (!s.ok()) {
        item["Code"] = KmsCodeOrDefault(s);
        item["Message"] = std::string(s.message());
        all_ok = false;
      }
      results.push_back(item);
    }
  }
  PrintJson(nlohmann::json{{"Results", results}}.dump());
  if (!all_ok) return KmsError(kms_code::kInvalidCiphertext, "some files could not be rewrapped");
  return absl::OkStatus();
}

void AddCommonEnvelopeFlags(CLI::App* cmd, EnvelopeArgs& args) {
  cmd->add_option("--context", args.context,
                  "key=value the message's encryption context must contain (repeatable)");
  cmd->add_option("--allow-key-id", args.allowed_key_ids,
                  "only unwrap data keys wrapped by this CMK GUID (repeatable)");
}

}  // namespace

void RegisterEnvelopeCommands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<EnvelopeArgs>();

  CLI::App* enc = app.add_subcommand("encrypt", "seal a file or stdin under a CMK (envelope)");
  enc->add_option("input", args->input, "input file (default -, stdin)");
  enc->add_option("-o,--output", args->output, "output file (default -, stdout)");
  enc->add_option("--key-id", args->key_id, "CMK GUID or alias/<name>")->required();
  enc->add_option("--additional-key-id", args->additional_key_ids,
                  "also wrap the data key under this CMK (repeatable)");
  enc->add_option("--context", args->context, "encryption context pair key=value (repeatable)");
  enc->add_option("--suite", args->suite, "aes-256-gcm | xchacha20-poly1305")
      ->check(CLI::IsMember({"aes-256-gcm", "xchacha20-poly1305"}));
  enc->add_option("--frame-size", args->frame_size, "frame size in bytes (default 65536)")
      ->check(CLI::Range(envelope::kMinFrameSize, envelope::kMaxFrameSize));
  enc->callback([&options, args]() {
    absl::Status s = RunEncrypt(options, *args);
    options.exit_code = s.ok() ? kExitOk : ReportError(s);
  });

  CLI::App* dec = app.add_subcommand(
      "decrypt",
      "open a sealed file or stdin; or, with --ciphertext-blob, the KMS Decrypt call");
  dec->add_option("input", args->input, "sealed file (default -, stdin)");
  dec->add_option("-o,--output", args->output,
                  "output file (default -, stdout; stdout receives verified frames only and a "
                  "failure mid-stream exits non-zero)");
  AddCommonEnvelopeFlags(dec, *args);
  dec->add_option("--ciphertext-blob", args->ciphertext_blob,
                  "KMS Decrypt of a base64 CiphertextBlob (no file)");
  dec->add_option("--encryption-context", args->encryption_context_json,
                  "JSON encryption context for --ciphertext-blob");
  dec->callback([&options, args]() {
    if (!args->ciphertext_blob.empty()) {
      options.exit_code =
          RunKmsDecrypt(options, args->ciphertext_blob, args->encryption_context_json);
      return;
    }
    absl::Status s = RunDecrypt(options, *args);
    options.exit_code = s.ok() ? kExitOk : ReportError(s);
  });

  CLI::App* ins = app.add_subcommand("inspect", "print a sealed file's header as JSON (no decryption)");
  ins->add_option("input", args->input, "sealed file (default -, stdin)");
  ins->callback([&options, args]() {
    absl::Status s = RunInspect(*args);
    options.exit_code = s.ok() ? kExitOk : ReportError(s);
  });

  CLI::App* rew = app.add_subcommand(
      "rewrap", "replace the wrapped data keys of sealed files (payload untouched)");
  rew->add_option("paths", args->paths, "sealed files and/or directories")->required();
  rew->add_option("--key-id", args->key_id, "new primary CMK GUID or alias/<name>")->required();
  rew->add_option("--additional-key-id", args->additional_key_ids,
                  "also wrap under this CMK (repeatable)");
  AddCommonEnvelopeFlags(rew, *args);
  rew->callback([&options, args]() {
    absl::Status s = RunRewrap(options, *args);
    options.exit_code = s.ok() ? kExitOk : ReportError(s);
  });
}

}  // namespace cli
}  // namespace kms_envelope
