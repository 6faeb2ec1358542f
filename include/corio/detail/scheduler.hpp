// SPDX-License-Identifier: MIT
// corio/detail/scheduler.hpp: scheduler, the part of the event loop that orders work: the
// ready queue, the timer heap, the task being run and the loop's time.
// Layer L3. loop_core derives from it; callback nodes and waiters hold it.
#pragma once

#include <corio/clock.hpp>

#include <corio/detail/ring_buffer.hpp>
#include <corio/detail/timer_heap.hpp>

#include <coroutine>

namespace corio::detail {

class task_state_base;
class callback_node;

class scheduler {
public:
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    /// Queues `frame` to be resumed as a step of `task`.
    void schedule(std::coroutine_handle<> frame, task_state_base* task) {
        ready_.push_back(ready_entry{task, frame.address()});
    }

    /// Queues a callback (call_soon, or a call_later whose time has come).
    void schedule(callback_node& callback) { ready_.push_back(ready_entry{nullptr, &callback}); }

    [[nodiscard]] task_state_base* current_task_state() const noexcept { return current_; }

    /// The loop's time: the clock, or the time its backend keeps (a test backend's virtual
    /// time, see detail/backend/scripted.hpp).
    [[nodiscard]] clock::time_point now() const noexcept {
        return own_time_ != nullptr ? *own_time_ : clock::now();
    }

    /// True once the loop is being destroyed: frames of unfinished tasks are being dropped.
    [[nodiscard]] bool closing() const noexcept { return closing_; }

    void add_timer(timer_node& node, clock::time_point deadline) { timers_.push(node, deadline); }
    void remove_timer(timer_node& node) noexcept { timers_.erase(node); }

protected:
    scheduler() = default;
    ~scheduler() = default;

    // One step of work: a task's frame to resume, or a callback to call when `task` is null.
    struct ready_entry {
        task_state_base* task;
        void* target; // the frame's address, or the callback_node
    };

    ring_buffer<ready_entry> ready_;
    timer_heap timers_;
    task_state_base* current_ = nullptr;
    const clock::time_point* own_time_ = nullptr;
    bool closing_ = false;
};

} // namespace corio::detail
