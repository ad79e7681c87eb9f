// Replays fuzz corpora through a fuzz target without libFuzzer, so `bazel test //...` (gcc, no
// sanitizer) runs every checked-in input as an ordinary test.
//
//   replay_test <file-or-directory>...
//
// Calls LLVMFuzzerInitialize (when the target defines one) and then LLVMFuzzerTestOneInput once
// per regular file, in sorted order. A target reports a violated invariant by aborting, which
// fails the test. Fails too when no input was found (a test that replays nothing proves nothing)
// or when the target's KmsFuzzReplayCheck says the seeds no longer reach its deep path.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));
// Optional, defined by targets whose seeds must reach a deep path (a message that opens, a store
// that loads): returns 0 when the replayed seeds did, else prints why and returns non-zero. It
// keeps a replay test from passing when, say, every seed stopped opening.
extern "C" int KmsFuzzReplayCheck() __attribute__((weak));

namespace {

void Collect(const std::string& path, std::vector<std::string>* files) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return;
  if (S_ISREG(st.st_mode)) {
    files->push_back(path);
    return;
  }
  if (!S_ISDIR(st.st_mode)) return;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return;
  while (struct dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    Collect(path + "/" + name, files);
  }
  closedir(dir);
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) Collect(argv[i], &files);
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "no corpus files found\n");
    return 1;
  }
  size_t bytes = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    bytes += data.size();
    // An empty vector's data() may be null; libFuzzer passes a valid pointer.
    static const uint8_t kEmpty = 0;
    LLVMFuzzerTestOneInput(data.empty() ? &kEmpty : data.data(), data.size());
  }
  std::printf("replayed %zu inputs (%zu bytes)\n", files.size(), bytes);
  if (KmsFuzzReplayCheck != nullptr && KmsFuzzReplayCheck() != 0) return 1;
  return 0;
}
