// SPDX-License-Identifier: MIT
// corio/detail/ready_queue.hpp: ready_queue, the loop's first-in first-out queue of steps to
// run: a ring buffer that doubles when full.
// Layer L0. Every spawn, wake-up and call_soon goes through it once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>

namespace corio::detail {

class task_state_base;

/// One step of work: a task's frame to resume, or a callback to call when `task` is null.
struct ready_entry {
    task_state_base* task;
    void* target; // the frame's address, or the callback_node
};

// std::deque did the same job with a block map to walk and a block to allocate every 32
// entries; here a push is a store and an increment. The buffer keeps its largest size, as a
// vector does: a loop that once had a million steps ready keeps 16 MiB for them.
class ready_queue {
public:
    ready_queue() = default;
    ready_queue(const ready_queue&) = delete;
    ready_queue& operator=(const ready_queue&) = delete;

    /// Strong guarantee: when growing throws, the queue is as it was.
    void push_back(ready_entry e) {
        if (size_ == capacity_)
            grow();
        slots_[(head_ + size_) & (capacity_ - 1)] = e;
        ++size_;
    }

    /// Precondition: not empty.
    ready_entry pop_front() noexcept {
        const ready_entry e = slots_[head_];
        head_ = (head_ + 1) & (capacity_ - 1);
        --size_;
        return e;
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    void clear() noexcept { head_ = size_ = 0; }

private:
    static constexpr std::size_t first_capacity = 64; // a power of two, as every capacity

    // Called when full: the entries fill the buffer, from the head to its end and on from
    // its start; they move over in that order.
    void grow() {
        const std::size_t capacity = capacity_ == 0 ? first_capacity : 2 * capacity_;
        auto slots = std::make_unique_for_overwrite<ready_entry[]>(capacity);
        const std::size_t to_end = capacity_ - head_;
        std::copy_n(slots_.get() + head_, to_end, slots.get());
        std::copy_n(slots_.get(), head_, slots.get() + to_end);
        slots_ = std::move(slots);
        capacity_ = capacity;
        head_ = 0;
    }

    std::unique_ptr<ready_entry[]> slots_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

} // namespace corio::detail
