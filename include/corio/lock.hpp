// SPDX-License-Identifier: MIT
// corio/lock.hpp: lock, a FIFO-fair mutual exclusion lock for tasks (asyncio.Lock).
// Layer L5.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/release_guard.hpp>
#include <corio/detail/wait_queue.hpp>

#include <coroutine>
#include <exception>
#include <ostream>

namespace corio {

class lock;

namespace detail {

class lock_waiter final : public queued_waiter {
public:
    explicit lock_waiter(lock& l) : queued_waiter(running_core()), lock_(&l) {}
    lock_waiter(lock_waiter&&) noexcept = default; // before it is awaited only

    inline bool await_ready() noexcept;
    inline void await_suspend(std::coroutine_handle<> frame);
    void await_resume() { resumed(); }

    void describe(std::ostream& out) const override { describe_as(out, "lock.acquire"); }

private:
    inline bool give_back() noexcept override;

    lock* lock_;
};

} // namespace detail

/// A mutual exclusion lock for tasks. asyncio: `asyncio.Lock`.
/// FIFO-fair: release() hands the lock directly to the longest-waiting task, so a task that
/// calls acquire() while others wait queues behind them even if the lock looks free for a
/// moment. Not reentrant and not owned: any task may release it, as in asyncio.
/// Usable with `with(lock, body)`: aenter() acquires, aexit() releases.
/// Thread safety: loop thread only. A lock must outlive the tasks waiting on it.
class lock {
public:
    /// What `co_await scoped()` returns: releases the lock when destroyed.
    using guard = detail::release_guard<lock>;

    lock() = default;
    lock(const lock&) = delete;
    lock& operator=(const lock&) = delete;

    /// Acquires the lock; returns at once, without suspending, when it is free and nobody
    /// waits. asyncio: `await Lock.acquire()`.
    /// Cancellation: a waiting task leaves the queue and gets `cancelled_error`. A task
    /// cancelled after release() handed it the lock but before it ran passes the lock on to
    /// the next waiter (or unlocks it) and gets `cancelled_error`, as in asyncio.
    /// Throws: `no_running_loop` outside a running loop.
    [[nodiscard]] detail::lock_waiter acquire() { return detail::lock_waiter(*this); }

    /// Acquires the lock and returns a move-only guard that releases it when destroyed.
    /// Cancellation and throws: as acquire().
    [[nodiscard]] detail::scoped_awaiter<lock, detail::lock_waiter> scoped() {
        return detail::scoped_awaiter<lock, detail::lock_waiter>(*this);
    }

    /// Releases the lock: the first waiting task gets it, else it becomes free.
    /// asyncio: `Lock.release()`.
    /// Throws: `invalid_state_error` (a `std::logic_error`; asyncio raises RuntimeError) if
    /// the lock is not locked.
    void release() {
        if (!locked_)
            throw invalid_state_error("corio: lock.release() called on an unlocked lock");
        pass_on();
    }

    /// True while some task holds the lock (or it was handed to a task that has not run
    /// yet). asyncio: `Lock.locked()`.
    [[nodiscard]] bool locked() const noexcept { return locked_; }

    /// For `with(lock, body)`: acquires. asyncio: `async with lock`.
    [[nodiscard]] detail::lock_waiter aenter() { return acquire(); }

    /// For `with(lock, body)`: releases at once and returns a ready awaitable.
    std::suspend_never aexit(const std::exception_ptr&) {
        release();
        return {};
    }

private:
    friend class detail::lock_waiter;

    void pass_on() noexcept {
        if (detail::lock_waiter* w = waiters_.pop_front())
            w->grant(); // stays locked: ownership moves to w
        else
            locked_ = false;
    }

    detail::wait_queue<detail::lock_waiter> waiters_;
    bool locked_ = false;
};

namespace detail {

bool lock_waiter::await_ready() noexcept {
    if (lock_->locked_ || !lock_->waiters_.empty())
        return false;
    lock_->locked_ = true;
    return true;
}

void lock_waiter::await_suspend(std::coroutine_handle<> frame) {
    bind(frame);
    lock_->waiters_.push_back(*this);
    wait();
}

bool lock_waiter::give_back() noexcept {
    lock_->pass_on();
    return true;
}

} // namespace detail
} // namespace corio
