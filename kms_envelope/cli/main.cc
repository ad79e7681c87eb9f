// kms-envelope: command line over the kms_envelope library. `kms-envelope --help` lists the
// subcommands.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "kms_envelope/cli/cli_app.h"

namespace {

// A closed stdin/stdout/stderr would let the next open() take its number (a key store file
// receiving our JSON). Park a read-only descriptor of "/" there: reads and writes on it fail
// (EISDIR / EBADF), so a closed stdout still fails the command instead of writing elsewhere.
void ParkClosedStandardDescriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) continue;
    const int parked = ::open("/", O_RDONLY | O_DIRECTORY);
    if (parked >= 0 && parked != fd) {
      ::dup2(parked, fd);
      ::close(parked);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ParkClosedStandardDescriptors();
  // A reader that went away is a write error (EPIPE) we report, not a silent death.
  ::signal(SIGPIPE, SIG_IGN);
  return kms_envelope::cli::RunCli(argc, argv);
}
