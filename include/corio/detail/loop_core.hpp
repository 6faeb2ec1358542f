// SPDX-License-Identifier: MIT
// corio/detail/loop_core.hpp: loop_core, what the loop's awaitables reach: the scheduler, the
// I/O backend, the inbox other threads post to and the default thread pool; and the
// running-loop slot.
// Layer L3. event_loop derives from it and adds what only the loop itself needs (the task
// registry, interrupts, the exception handler, the iteration): awaitables include this
// header, never event_loop.hpp.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/backend/backend.hpp>
#include <corio/detail/callback.hpp>
#include <corio/detail/inbox.hpp>
#include <corio/detail/scheduler.hpp>
#include <corio/detail/thread_pool.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

namespace corio::detail {

class loop_core : public scheduler {
public:
    [[nodiscard]] io_backend& backend() const noexcept { return *backend_; }

    /// Runs `fn()` on the loop's thread, in its next run of ready work. Callable from any
    /// thread; wakes the loop if it is waiting.
    template <class F>
    void post(F&& fn) {
        inbox_.post(make_callback(std::forward<F>(fn)));
    }

    /// to_thread calls submitted to the pool whose result has not come back yet, less those
    /// abandoned before they started: while there are some, a test loop's time stands still.
    [[nodiscard]] std::size_t calls_outside() const noexcept { return calls_outside_; }
    void call_went_out() noexcept { ++calls_outside_; }
    void call_came_back() noexcept { --calls_outside_; }

    /// The pool to_thread runs its jobs on, started on first use.
    /// Throws: `invalid_state_error` after the loop's shutdown_default_executor.
    thread_pool& default_thread_pool() {
        if (pool_shut_down_)
            throw invalid_state_error(
                "corio: to_thread after the loop's thread pool was shut down");
        if (!pool_)
            pool_ = std::make_unique<thread_pool>(thread_pool::default_size());
        return *pool_;
    }

protected:
    explicit loop_core(std::unique_ptr<io_backend> backend)
        : backend_(std::move(backend)), inbox_(*backend_) {
        own_time_ = backend_->own_time();
    }
    ~loop_core() = default;

    /// `fn(args...)` as a call without arguments; `fn` and the arguments are decay-copied.
    template <class F, class... Args>
    static auto bind_args(F&& fn, Args&&... args) {
        return [fn = std::forward<F>(fn), ... args = std::forward<Args>(args)]() mutable {
            std::invoke(fn, args...);
        };
    }

    /// `fn(args...)` as a callback of this loop.
    template <class F, class... Args>
    std::unique_ptr<callback_node> make_callback(F&& fn, Args&&... args) {
        auto call = bind_args(std::forward<F>(fn), std::forward<Args>(args)...);
        return std::make_unique<callback<decltype(call)>>(this, std::move(call));
    }

    std::unique_ptr<io_backend> backend_;
    inbox inbox_;
    std::unique_ptr<thread_pool> pool_;
    std::size_t calls_outside_ = 0;
    bool pool_shut_down_ = false;
};

/// The core of the loop running on this thread, or null.
inline loop_core*& running_core_slot() noexcept {
    thread_local loop_core* running = nullptr;
    return running;
}

/// Throws: `no_running_loop` when no loop is running on this thread.
inline loop_core& running_core() {
    loop_core* core = running_core_slot();
    if (core == nullptr)
        throw no_running_loop();
    return *core;
}

} // namespace corio::detail
