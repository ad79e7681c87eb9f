// A reader/writer lock that prefers writers, with scoped holders.
//
//   RwLock mu;
//   { ReaderLock hold(&mu); ... read ... }
//   { WriterLock hold(&mu); ... replace ... }
//
// Why not std::shared_mutex: glibc's default rwlock (and so std::shared_mutex) prefers
// readers, so eight hot threads could starve a rotation. pthread-based so that ThreadSanitizer
// sees it (the system Abseil is not TSan-instrumented). Not recursive.
#ifndef KMS_ENVELOPE_LOCAL_RW_LOCK_H_
#define KMS_ENVELOPE_LOCAL_RW_LOCK_H_

#include <pthread.h>

namespace kms_envelope {
namespace local {

class RwLock {
 public:
  RwLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~RwLock() { pthread_rwlock_destroy(&lock_); }
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;
  void ReaderLock() { pthread_rwlock_rdlock(&lock_); }
  void WriterLock() { pthread_rwlock_wrlock(&lock_); }
  void Unlock() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

class ReaderLock {
 public:
  explicit ReaderLock(RwLock* lock) : lock_(lock) { lock_->ReaderLock(); }
  ~ReaderLock() { lock_->Unlock(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  RwLock* lock_;
};

class WriterLock {
 public:
  explicit WriterLock(RwLock* lock) : lock_(lock) { lock_->WriterLock(); }
  ~WriterLock() { lock_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  RwLock* lock_;
};

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_RW_LOCK_H_
