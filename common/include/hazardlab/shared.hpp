#pragma once
// Where a run's shared state lives. The thread form keeps it on the heap; the process form puts
// it in an anonymous MAP_SHARED mapping made before fork(), so every child inherits it and no
// name exists that a crashed run could leave behind in /dev/shm.
#include <boost/interprocess/anonymous_shared_memory.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include <new>
#include <utility>

namespace hazardlab {

// True once the thread form has given up on workers that missed their deadline. Such threads
// are detached and may still touch the run's state, so the state must outlive them.
bool threads_abandoned() noexcept;
void mark_threads_abandoned() noexcept;

template <class T>
class HeapShared {
public:
  template <class... Args>
  explicit HeapShared(Args&&... args) : object_(new T(std::forward<Args>(args)...)) {}
  HeapShared(HeapShared&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  HeapShared(const HeapShared&) = delete;
  HeapShared& operator=(const HeapShared&) = delete;
  HeapShared& operator=(HeapShared&&) = delete;
  ~HeapShared() {
    // Abandoned (stuck) threads may still be inside this object: leak it, the program is about
    // to end anyway.
    if (!threads_abandoned()) delete object_;
  }

  T& operator*() const noexcept { return *object_; }
  T* operator->() const noexcept { return object_; }
  T* get() const noexcept { return object_; }

private:
  T* object_;
};

template <class T>
class MappedShared {
public:
  template <class... Args>
  explicit MappedShared(Args&&... args)
      : region_(boost::interprocess::anonymous_shared_memory(sizeof(T))),
        object_(new (region_.get_address()) T(std::forward<Args>(args)...)) {}
  MappedShared(MappedShared&& other) noexcept
      : region_(std::move(other.region_)), object_(std::exchange(other.object_, nullptr)) {}
  MappedShared(const MappedShared&) = delete;
  MappedShared& operator=(const MappedShared&) = delete;
  MappedShared& operator=(MappedShared&&) = delete;
  // No ~T(): a child killed while holding a lock in here leaves it locked, and destroying a
  // locked pthread mutex is undefined. Objects in the mapping simply end with it, which is why
  // nothing placed here may own private (heap) memory.
  ~MappedShared() = default;

  T& operator*() const noexcept { return *object_; }
  T* operator->() const noexcept { return object_; }
  T* get() const noexcept { return object_; }

private:
  boost::interprocess::mapped_region region_;
  T* object_;
};

} // namespace hazardlab
