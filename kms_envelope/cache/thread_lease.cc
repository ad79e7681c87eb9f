#include "kms_envelope/cache/thread_lease.h"

#include <algorithm>
#include <utility>

namespace kms_envelope {
namespace cache {
namespace cache_internal {
namespace {

std::atomic<uint64_t> g_next_registry_id{1};

struct LeaseRef {
  uint64_t registry_id;
  std::shared_ptr<ThreadLease> lease;
};
// This thread's leases, one per cache it has used; a dead registry's entries are pruned when a
// new one is added.
thread_local std::vector<LeaseRef> t_leases;

}  // namespace

LeaseRegistry::LeaseRegistry() : id_(g_next_registry_id.fetch_add(1)) {}

LeaseRegistry::~LeaseRegistry() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::shared_ptr<ThreadLease>& lease : leases_) {
    std::lock_guard<std::mutex> l(lease->mu);
    lease->Reset();
    lease->decrypt_block.reset();
    lease->dead = true;
  }
}

ThreadLease& LeaseRegistry::Mine() {
  for (const LeaseRef& ref : t_leases) {
    if (ref.registry_id == id_) return *ref.lease;
  }
  t_leases.erase(std::remove_if(t_leases.begin(), t_leases.end(),
                                [](const LeaseRef& r) { return r.lease->dead.load(); }),
                 t_leases.end());
  auto lease = std::make_shared<ThreadLease>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Leases only the registry still holds belong to threads that have exited: drop them.
    auto gone = [this](const std::shared_ptr<ThreadLease>& l) {
      if (l.use_count() != 1) return false;
      std::lock_guard<std::mutex> ll(l->mu);
      hits_of_gone_threads_.generate += l->hits;
      hits_of_gone_threads_.decrypt += l->decrypt_hits;
      l->Reset();
      l->decrypt_block.reset();
      return true;
    };
    leases_.erase(std::remove_if(leases_.begin(), leases_.end(), gone), leases_.end());
    leases_.push_back(lease);
  }
  t_leases.push_back(LeaseRef{id_, lease});
  return *lease;
}

void LeaseRegistry::Drop(const KeyBlock* block) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::shared_ptr<ThreadLease>& lease : leases_) {
    std::lock_guard<std::mutex> l(lease->mu);
    if (lease->block != nullptr && (block == nullptr || lease->block.get() == block)) {
      lease->Reset();
    }
    if (lease->decrypt_block != nullptr &&
        (block == nullptr || lease->decrypt_block.get() == block)) {
      lease->decrypt_block.reset();
    }
  }
}

LeasedHits LeaseRegistry::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  LeasedHits total = hits_of_gone_threads_;
  for (const std::shared_ptr<ThreadLease>& lease : leases_) {
    std::lock_guard<std::mutex> l(lease->mu);
    total.generate += lease->hits;
    total.decrypt += lease->decrypt_hits;
  }
  return total;
}

}  // namespace cache_internal
}  // namespace cache
}  // namespace kms_envelope
