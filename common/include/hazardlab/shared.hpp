#pragma once
// Where a run's shared state lives. The thread form keeps it on the heap; the process form puts
// it in an anonymous MAP_SHARED mapping made before fork(), so every child inherits it and no
// name exists that a crashed run could leave behind in /dev/shm.
#include <boost/interprocess/anonymous_shared_memory.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
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

// An array of `size` value-initialized Ts whose length is known only at run time (one counter
// per item moved, say), placed like the objects above. T must not own heap memory.
template <class T>
class HeapSharedArray {
public:
  explicit HeapSharedArray(std::size_t size) : data_(new T[size]()), size_(size) {}
  HeapSharedArray(HeapSharedArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  HeapSharedArray(const HeapSharedArray&) = delete;
  HeapSharedArray& operator=(const HeapSharedArray&) = delete;
  HeapSharedArray& operator=(HeapSharedArray&&) = delete;
  ~HeapSharedArray() {
    if (!threads_abandoned()) delete[] data_; // as HeapShared: abandoned threads may still use it
  }

  T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

private:
  T* data_;
  std::size_t size_;
};

template <class T>
class MappedSharedArray {
public:
  explicit MappedSharedArray(std::size_t size)
      : region_(boost::interprocess::anonymous_shared_memory(std::max<std::size_t>(1, bytes_for(size)))),
        data_(static_cast<T*>(region_.get_address())), size_(size) {
    for (std::size_t i = 0; i < size; ++i)
      new (data_ + i) T();
  }
  MappedSharedArray(MappedSharedArray&& other) noexcept
      : region_(std::move(other.region_)), data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  MappedSharedArray(const MappedSharedArray&) = delete;
  MappedSharedArray& operator=(const MappedSharedArray&) = delete;
  MappedSharedArray& operator=(MappedSharedArray&&) = delete;
  ~MappedSharedArray() = default; // no ~T(), for the reason given at MappedShared

  T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

private:
  static std::size_t bytes_for(std::size_t size) {
    if (size > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return size * sizeof(T);
  }
  boost::interprocess::mapped_region region_;
  T* data_;
  std::size_t size_;
};

} // namespace hazardlab
