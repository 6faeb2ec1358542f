// SPDX-License-Identifier: MIT
// corio/detail/ring_buffer.hpp: ring_buffer<T>, a first-in first-out queue in one array
// that doubles when full: asyncio.Queue's store.
// Layer L0.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace corio::detail {

// std::deque did this job with a map of blocks to walk and a block to allocate and free
// every few dozen items: a queue that one item goes through a million times paid for both.
// Here a push is a construction and an increment. The array keeps its largest size, as a
// vector does.
template <class T>
class ring_buffer {
public:
    ring_buffer() = default;
    ring_buffer(ring_buffer&& other) noexcept
        : slots_(std::exchange(other.slots_, nullptr)),
          capacity_(std::exchange(other.capacity_, 0)), head_(std::exchange(other.head_, 0)),
          size_(std::exchange(other.size_, 0)) {}
    ring_buffer(const ring_buffer&) = delete;
    ring_buffer& operator=(const ring_buffer&) = delete;
    ~ring_buffer() {
        clear();
        if (slots_)
            std::allocator<T>().deallocate(slots_, capacity_);
    }

    /// Strong guarantee. `item` must not be an element of this buffer.
    void push_back(T&& item) {
        if (size_ == capacity_)
            grow();
        std::construct_at(slots_ + wrap(head_ + size_), std::move(item));
        ++size_;
    }

    /// Precondition: not empty.
    void pop_front() noexcept {
        std::destroy_at(slots_ + head_);
        head_ = wrap(head_ + 1);
        --size_;
    }

    /// The first item, moved out. Precondition: not empty.
    T take_front() {
        T item = std::move(slots_[head_]);
        pop_front();
        return item;
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    void clear() noexcept {
        while (size_ > 0)
            pop_front();
        head_ = 0;
    }

private:
    static constexpr std::size_t first_capacity = 16; // a power of two, as every capacity

    [[nodiscard]] std::size_t wrap(std::size_t i) const noexcept { return i & (capacity_ - 1); }

    // The items move over in order, from the head on; if moving one throws (a type whose
    // move may throw is copied instead, as std::vector does), the buffer is left as it was.
    void grow() {
        const std::size_t capacity = capacity_ == 0 ? first_capacity : 2 * capacity_;
        std::allocator<T> allocator;
        T* slots = allocator.allocate(capacity);
        std::size_t moved = 0;
        try {
            for (; moved < size_; ++moved)
                std::construct_at(slots + moved,
                                  std::move_if_noexcept(slots_[wrap(head_ + moved)]));
        } catch (...) {
            std::destroy_n(slots, moved);
            allocator.deallocate(slots, capacity);
            throw;
        }
        const std::size_t size = size_;
        clear();
        if (slots_)
            allocator.deallocate(slots_, capacity_);
        slots_ = slots;
        capacity_ = capacity;
        size_ = size;
    }

    T* slots_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

} // namespace corio::detail
