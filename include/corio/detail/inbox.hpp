// SPDX-License-Identifier: MIT
// corio/detail/inbox.hpp: inbox, where other threads leave callbacks for the loop's thread.
// Layer L3. The only part of the loop that other threads touch, with the backend's wake().
#pragma once

#include <corio/detail/backend/backend.hpp>
#include <corio/detail/callback.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace corio::detail {

/// A mutex-protected batch of callbacks and a flag the loop reads without the lock. Whoever
/// fills the empty inbox wakes the loop; the loop takes the whole batch at once.
class inbox {
public:
    using batch = std::vector<std::unique_ptr<callback_node>>;

    explicit inbox(io_backend& waker) noexcept : waker_(&waker) {}
    inbox(const inbox&) = delete;
    inbox& operator=(const inbox&) = delete;

    /// Any thread. The wake happens under the lock, so the loop cannot be destroyed in
    /// between (drop() takes the lock too): once the callback ran, the loop may be gone.
    void post(std::unique_ptr<callback_node> callback) {
        std::lock_guard lock(mutex_);
        posted_.push_back(std::move(callback));
        if (!full_.exchange(true, std::memory_order_release))
            waker_->wake();
    }

    /// Loop thread: whether a take() would find something. The acquire pairs with post's
    /// release, for a loop that reads the flag before it takes the lock.
    [[nodiscard]] bool full() const noexcept { return full_.load(std::memory_order_acquire); }

    /// Loop thread: everything posted so far, oldest first.
    batch take() noexcept {
        batch arrived;
        std::lock_guard lock(mutex_);
        arrived.swap(posted_);
        full_.store(false, std::memory_order_relaxed);
        return arrived;
    }

    /// Destroys what nobody will run, outside the lock, since a destructor (a to_thread
    /// result's) may post again; until nothing is left. Taking the lock also waits for a
    /// post() still inside its wake(): the backend must outlive it.
    void drop() noexcept {
        while (!take().empty()) {
        }
    }

private:
    io_backend* waker_;
    std::mutex mutex_;
    batch posted_;
    std::atomic<bool> full_{false};
};

} // namespace corio::detail
