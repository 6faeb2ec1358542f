// SPDX-License-Identifier: MIT
// corio/detail/interrupts.hpp: interrupts, the loop's count of SIGINTs and what it does
// about them: the first cancels the main task, any later one every task.
// Layer L4. Counting is async-signal-safe; acting on the count happens on the loop thread.
#pragma once

#include <corio/detail/task_registry.hpp>
#include <corio/detail/task_state.hpp>

#include <atomic>

namespace corio::detail {

class interrupts {
public:
    /// Any thread, or a signal handler. The caller wakes the loop.
    void raise() noexcept { raised_.fetch_add(1, std::memory_order_relaxed); }

    /// True when interrupts arrived that handle() has not acted on yet.
    [[nodiscard]] bool pending() const noexcept {
        return raised_.load(std::memory_order_relaxed) != handled_;
    }

    /// How many interrupts handle() acted on.
    [[nodiscard]] int handled() const noexcept { return handled_; }

    /// The task the first interrupt cancels: run()'s main.
    void set_main(task_state* main) noexcept { main_ = main; }

    /// The first interrupt cancels main, so that its clean-up runs as for any cancellation;
    /// any further one (even in the same iteration), or the first once main is done, cancels
    /// every task still alive.
    void handle(task_registry& tasks) {
        const int before = handled_;
        handled_ = raised_.load(std::memory_order_relaxed);
        const bool main_alive = main_ != nullptr && !main_->done();
        if (before == 0 && main_alive)
            main_->cancel({});
        if (before > 0 || !main_alive || handled_ - before > 1)
            tasks.cancel_all();
    }

private:
    std::atomic<int> raised_{0};
    int handled_ = 0;
    task_state* main_ = nullptr;
};

} // namespace corio::detail
