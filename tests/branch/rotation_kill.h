// Kills a process that rotates a branch key over and over (SIGKILL at random moments, so some
// kills land inside version creation) and checks after every kill that the store still has
// exactly one active version, that it is the newest, and that it unwraps at the KMS.
#ifndef KMS_ENVELOPE_TESTS_BRANCH_ROTATION_KILL_H_
#define KMS_ENVELOPE_TESTS_BRANCH_ROTATION_KILL_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/branch/branch_key_store.h"
#include "tests/branch/branch_test_util.h"

namespace kms_envelope {
namespace branch_testing {

using StoreFactory = std::function<std::unique_ptr<branch::BranchKeyStore>()>;

// Returns how many versions the rotating children created in all.
inline uint32_t KillRotatorsAndCheck(const StoreFactory& open_store, const LocalKms& kms,
                                     const std::string& id, int rounds,
                                     int spread_us = 50000) {
  std::mt19937 rng(12345);
  std::unique_ptr<branch::BranchKeyStore> store = open_store();
  auto created = branch::CreateBranchKey(*kms.real, kms.cmk, *store, id);
  EXPECT_TRUE(created.ok()) << created.status();
  uint32_t newest = 1;
  for (int round = 0; round < rounds; ++round) {
    int ready[2];
    EXPECT_EQ(::pipe(ready), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      LocalKms child_kms = OpenLocalKms(kms.directory, kms.cmk);
      std::unique_ptr<branch::BranchKeyStore> child_store = open_store();
      if (child_kms.real == nullptr || child_store == nullptr) ::_exit(2);
      if (::write(ready[1], "r", 1) != 1) ::_exit(4);
      for (;;) {
        if (!branch::RotateBranchKey(*child_kms.real, "", *child_store, id).ok()) ::_exit(3);
      }
    }
    // Kill somewhere in the rotations, once the child has opened its KMS and store.
    ::close(ready[1]);
    char byte = 0;
    EXPECT_EQ(::read(ready[0], &byte, 1), 1);
    ::close(ready[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(1000 + rng() % spread_us));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the rotating child stopped by itself: " << status;
    auto versions = store->ListVersions(id);
    EXPECT_TRUE(versions.ok()) << versions.status();
    if (!versions.ok()) return newest;
    int active = 0;
    for (size_t i = 0; i < versions->size(); ++i) {
      EXPECT_EQ((*versions)[i].version, i + 1);
      if ((*versions)[i].active) ++active;
    }
    EXPECT_EQ(active, 1) << "round " << round;
    EXPECT_TRUE(versions->back().active);
    EXPECT_GE(versions->back().version, newest);
    newest = versions->back().version;
    auto active_version = store->GetActiveVersion(id);
    EXPECT_TRUE(active_version.ok()) << active_version.status();
    if (active_version.ok()) {
      EXPECT_TRUE(branch::UnwrapBranchKey(*kms.real, *active_version).ok());
    }
  }
  return newest;
}

}  // namespace branch_testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_BRANCH_ROTATION_KILL_H_
