// SPDX-License-Identifier: MIT
// corio/detail/scheduler.hpp: scheduler, the part of the event loop that orders work: the
// ready queue, the timer heap, the task being run and the loop's time.
// Layer L3. loop_core derives from it; callback nodes and waiters hold it.
#pragma once

#include <corio/clock.hpp>

#include <corio/detail/ready_queue.hpp>
#include <corio/detail/task_state.hpp>
#include <corio/detail/timer_heap.hpp>

namespace corio::detail {

class callback_node;

class scheduler {
public:
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    /// Queues the next step of `task`, which is in no queue now: it resumes
    /// `task.next_step()`.
    void schedule(task_state& task) noexcept { ready_.push_back(task, ready_queue::kind::task); }

    /// Queues a callback (call_soon, or a call_later whose time has come), once.
    void schedule(callback_node& callback) noexcept; // in callback.hpp, which defines the node

    [[nodiscard]] task_state* current_task_state() const noexcept { return current_; }

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

    ready_queue ready_;
    timer_heap timers_;
    task_state* current_ = nullptr;
    const clock::time_point* own_time_ = nullptr;
    bool closing_ = false;
};

} // namespace corio::detail
