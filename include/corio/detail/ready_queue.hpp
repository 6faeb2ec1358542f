// SPDX-License-Identifier: MIT
// corio/detail/ready_queue.hpp: ready_queue, the loop's first-in first-out queue of work to
// run now (tasks to step, callbacks to call), linked through the items themselves.
// Layer L0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace corio::detail {

/// The link of an item that can wait in a ready queue: in one queue, once, at a time.
class ready_link {
public:
    ready_link() noexcept = default;
    ready_link(const ready_link&) = delete;
    ready_link& operator=(const ready_link&) = delete;

protected:
    ~ready_link() = default;

private:
    friend class ready_queue;
    std::uintptr_t next_ = 0;
};

// A ring of entries held the queue before: at 16 bytes each, doubling, it was a sixth of the
// memory of a hundred thousand tasks that all yield at once. Linked through the items, the
// queue takes none, and a push can no longer fail. Each link records whether the item after
// it is a task or a callback in its low bit, free because links are aligned.
class ready_queue {
public:
    enum class kind : std::uintptr_t { task = 0, callback = 1 };

    struct item {
        ready_link* link;
        kind what;
    };

    ready_queue() noexcept = default;
    ready_queue(const ready_queue&) = delete;
    ready_queue& operator=(const ready_queue&) = delete;

    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// `link` must not be in a queue.
    void push_back(ready_link& link, kind what) noexcept {
        const std::uintptr_t tagged =
            reinterpret_cast<std::uintptr_t>(&link) | static_cast<std::uintptr_t>(what);
        link.next_ = 0;
        if (tail_ != nullptr)
            tail_->next_ = tagged;
        else
            head_ = tagged;
        tail_ = &link;
        ++size_;
    }

    /// The queue must not be empty.
    item pop_front() noexcept {
        const item first{reinterpret_cast<ready_link*>(head_ & ~tag_bit), kind{head_ & tag_bit}};
        head_ = first.link->next_;
        if (head_ == 0)
            tail_ = nullptr;
        --size_;
        return first;
    }

    /// Forgets every item, leaving the items themselves alone.
    void clear() noexcept {
        head_ = 0;
        tail_ = nullptr;
        size_ = 0;
    }

private:
    static constexpr std::uintptr_t tag_bit = 1;
    static_assert(alignof(ready_link) > tag_bit);

    std::uintptr_t head_ = 0; // tagged as the links are
    ready_link* tail_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace corio::detail
