// SPDX-License-Identifier: MIT
// corio/semaphore.hpp: semaphore and bounded_semaphore, FIFO-fair counting semaphores for
// tasks (asyncio.Semaphore, asyncio.BoundedSemaphore).
// Layer L5.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/release_guard.hpp>
#include <corio/detail/wait_queue.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <ostream>
#include <stdexcept>
#include <string>

namespace corio {

class semaphore;

namespace detail {

class semaphore_waiter final : public queued_waiter {
public:
    explicit semaphore_waiter(semaphore& s) : queued_waiter(running_core()), sem_(&s) {}
    semaphore_waiter(semaphore_waiter&&) noexcept = default; // before it is awaited only

    inline bool await_ready() noexcept;
    inline void await_suspend(std::coroutine_handle<> frame);
    inline void await_resume();

    void describe(std::ostream& out) const override { describe_as(out, "semaphore.acquire"); }

private:
    inline bool give_back() noexcept override;

    semaphore* sem_;
};

} // namespace detail

/// A counter of permits: acquire() takes one, waiting while there are none; release() gives
/// one back. asyncio: `asyncio.Semaphore`.
/// FIFO-fair: release() hands its permit directly to the longest-waiting task, and a newcomer
/// waits while any task is queued or has been handed a permit but not run yet, even when a
/// permit is free (asyncio 3.12+): acquisitions happen in the order the tasks asked.
/// Usable with `with(sem, body)`: aenter() acquires, aexit() releases.
/// Thread safety: loop thread only. A semaphore must outlive the tasks waiting on it.
class semaphore {
public:
    /// What `co_await scoped()` returns: releases the permit when destroyed.
    using guard = detail::release_guard<semaphore>;

    /// Throws: `std::invalid_argument` if `value` is negative (asyncio: ValueError).
    explicit semaphore(std::ptrdiff_t value = 1) : semaphore(value, false) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    /// Takes a permit; returns at once, without suspending, when one is free and nobody
    /// waits. asyncio: `await Semaphore.acquire()`.
    /// Cancellation: a waiting task leaves the queue and gets `cancelled_error`. A task
    /// cancelled after release() handed it a permit but before it ran passes the permit on to
    /// the next waiter (or back to the counter) and gets `cancelled_error`, as in asyncio.
    /// Throws: `no_running_loop` outside a running loop.
    [[nodiscard]] detail::semaphore_waiter acquire() { return detail::semaphore_waiter(*this); }

    /// Takes a permit and returns a move-only guard that gives it back when destroyed.
    /// Cancellation and throws: as acquire().
    [[nodiscard]] detail::scoped_awaiter<semaphore, detail::semaphore_waiter> scoped() {
        return detail::scoped_awaiter<semaphore, detail::semaphore_waiter>(*this);
    }

    /// Gives a permit back: the first waiting task gets it, else the counter grows.
    /// asyncio: `Semaphore.release()`.
    /// Throws (bounded_semaphore only): `invalid_state_error`, a `std::logic_error`, when the
    /// counter would exceed its initial value (asyncio: ValueError).
    void release() {
        if (bounded_ && value_ >= bound_)
            throw invalid_state_error("corio: bounded_semaphore.release() called more times "
                                      "than acquire(): the counter would exceed its initial " +
                                      std::to_string(bound_));
        pass_on();
    }

    /// True when acquire() would wait: no free permit, or tasks ahead of a newcomer (queued,
    /// or handed a permit and not run yet). asyncio: `Semaphore.locked()`.
    [[nodiscard]] bool locked() const noexcept {
        return value_ == 0 || !waiters_.empty() || handed_out_ > 0;
    }

    /// The free permits.
    [[nodiscard]] std::ptrdiff_t value() const noexcept { return value_; }

    /// For `with(sem, body)`: acquires. asyncio: `async with sem`.
    [[nodiscard]] detail::semaphore_waiter aenter() { return acquire(); }

    /// For `with(sem, body)`: releases at once and returns a ready awaitable.
    std::suspend_never aexit(const std::exception_ptr&) {
        release();
        return {};
    }

protected:
    semaphore(std::ptrdiff_t value, bool bounded)
        : value_(value), bound_(value), bounded_(bounded) {
        if (value < 0)
            throw std::invalid_argument("corio: a semaphore's initial value must be >= 0, not " +
                                        std::to_string(value));
    }

private:
    friend class detail::semaphore_waiter;

    void pass_on() noexcept {
        if (!waiters_.empty())
            hand_out(); // the permit goes straight to the first waiter
        else
            ++value_;
    }

    void hand_out() noexcept {
        ++handed_out_;
        waiters_.pop_front()->grant();
    }

    // A waiter handed a permit ran, or gave the permit back: newcomers that queued behind it
    // while permits were free get them now.
    void handed_out_done() noexcept {
        --handed_out_;
        for (; value_ > 0 && !waiters_.empty(); --value_)
            hand_out();
    }

    detail::wait_queue<detail::semaphore_waiter> waiters_;
    std::ptrdiff_t handed_out_ = 0; // granted waiters that have not run yet
    std::ptrdiff_t value_;
    std::ptrdiff_t bound_;
    bool bounded_;
};

/// A semaphore whose release() throws when it would raise the counter above its initial
/// value, which catches a release without a matching acquire. asyncio:
/// `asyncio.BoundedSemaphore`.
class bounded_semaphore : public semaphore {
public:
    /// Throws: `std::invalid_argument` if `value` is negative.
    explicit bounded_semaphore(std::ptrdiff_t value = 1) : semaphore(value, true) {}
};

namespace detail {

bool semaphore_waiter::await_ready() noexcept {
    if (sem_->locked())
        return false;
    --sem_->value_;
    return true;
}

void semaphore_waiter::await_suspend(std::coroutine_handle<> frame) {
    bind(frame);
    sem_->waiters_.push_back(*this);
    wait();
}

void semaphore_waiter::await_resume() {
    resumed(); // a waiter cancelled after its grant gave the permit back: nothing to count
    if (granted_)
        sem_->handed_out_done();
}

bool semaphore_waiter::give_back() noexcept {
    sem_->pass_on();
    sem_->handed_out_done();
    return true;
}

} // namespace detail
} // namespace corio
