// The whole `kms-envelope` command line as a function, so main() and the argument fuzzer
// (fuzz/cli_args_fuzzer.cc) run the same code.
//
//   int main(int argc, char** argv) { return kms_envelope::cli::RunCli(argc, argv); }
//
// Contract:
// - Every option takes exactly one value per occurrence (repeat the flag for more); a positional
//   argument is never taken by an option.
// - Option values that the KMS API or our JSON carry must be UTF-8 (else InvalidParameter);
//   options of type PATH (file names) accept any bytes.
// - A usage error prints {"Code","Message"} on stderr like every other failure (MissingParameter
//   for a missing required option, InvalidParameter otherwise) and returns kExitUsage.
// - No exception escapes: anything unexpected is reported as InternalFailure (exit kExitError).
// Not thread-safe (one command per process; it reads and writes stdin/stdout/stderr).
#ifndef KMS_ENVELOPE_CLI_CLI_APP_H_
#define KMS_ENVELOPE_CLI_CLI_APP_H_

namespace kms_envelope {
namespace cli {

int RunCli(int argc, char** argv);

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_CLI_APP_H_
