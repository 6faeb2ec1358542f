// SPDX-License-Identifier: MIT
// corio/event_loop.hpp: event_loop, which runs tasks, timers and I/O on one thread, and
// get_running_loop.
// Layer L4. Depends on the backend interface, the timer heap and the task state.
#pragma once

#include <corio/clock.hpp>
#include <corio/errors.hpp>
#include <corio/loop_options.hpp>
#include <corio/task.hpp>

#include <corio/detail/backend/select.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/task_state.hpp>
#include <corio/detail/timer_heap.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace corio {

class event_loop;

namespace detail {

inline event_loop*& running_loop_slot() noexcept {
    thread_local event_loop* running = nullptr;
    return running;
}

} // namespace detail

/// The loop that runs tasks on this thread. asyncio: `asyncio.get_running_loop()`.
/// Throws: `no_running_loop` when no loop is running on this thread.
inline event_loop& get_running_loop() {
    event_loop* loop = detail::running_loop_slot();
    if (loop == nullptr)
        throw no_running_loop();
    return *loop;
}

/// One event loop: a FIFO of ready tasks, a timer heap and an I/O backend, run on the thread
/// that calls run_until_complete. asyncio: `asyncio.EventLoop`. Most programs only call
/// `corio::run`, which creates and closes one.
/// Thread safety: loop thread only.
class event_loop {
public:
    explicit event_loop(loop_options options = {})
        : backend_(detail::make_backend(options.backend)) {}

    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    /// Destroys the frames of tasks that are still pending, unrun; `corio::run` cancels and
    /// awaits them before it gets here.
    ~event_loop() {
        ready_.clear();
        while (detail::task_state_base* t = tasks_.pop_front()) {
            t->abandon();
            t->release();
        }
    }

    /// Runs `main` as a task and the loop until it is done; returns its value or rethrows.
    /// Other tasks stay pending when it returns. asyncio: `loop.run_until_complete`.
    /// Throws: `invalid_state_error` when a loop is already running on this thread.
    template <class T>
    T run_until_complete(task<T> main) {
        auto state = start_task(std::move(main), {});
        run_until_done(*state);
        return state->result();
    }

    /// The loop's clock. asyncio: `loop.time()`.
    [[nodiscard]] clock::time_point time() const noexcept { return clock::now(); }

    /// "epoll" or "io_uring".
    [[nodiscard]] std::string_view backend_name() const noexcept { return backend_->name(); }

    // --- The rest is corio's own machinery, used by its awaitables and by run(). ---

    /// Registers `body` as a new task and schedules its first step.
    template <class T>
    detail::task_ref<detail::task_state<T>> start_task(task<T> body, std::string name) {
        if (!body.valid())
            throw std::logic_error("corio: spawn of an empty task (moved from?)");
        if (body.handle().promise().started())
            throw std::logic_error("corio: spawn of a task that has already been awaited");
        if (name.empty())
            name = "Task-" + std::to_string(next_task_number());
        auto* state = new detail::task_state<T>(std::move(body), std::move(name));
        state->add_ref(); // the loop's reference, dropped when the task finishes
        tasks_.push_back(*state);
        schedule(state->frame(), state);
        return detail::task_ref<detail::task_state<T>>(state);
    }

    /// Runs iterations until `task` is done.
    void run_until_done(detail::task_state_base& task) {
        running_scope scope(*this);
        while (!task.done())
            run_once();
    }

    /// asyncio.run's epilogue: cancels every task still alive, once, and runs the loop until
    /// all of them are done. A task spawned meanwhile is cancelled once too; a task that
    /// swallows its cancellation is waited for, as asyncio.run does.
    void cancel_all_and_wait() {
        running_scope scope(*this);
        while (!tasks_.empty()) {
            tasks_.for_each([](detail::task_state_base& t) { t.cancel_for_shutdown(); });
            run_once();
        }
    }

    /// Queues `frame` to be resumed as a step of `task`.
    void schedule(std::coroutine_handle<> frame, detail::task_state_base* task) {
        ready_.push_back({frame, task});
    }

    [[nodiscard]] detail::task_state_base* current_task_state() const noexcept { return current_; }

    template <class F>
    void for_each_task(F&& f) {
        tasks_.for_each(std::forward<F>(f));
    }

    void add_timer(detail::timer_node& node, clock::time_point deadline) {
        timers_.push(node, deadline);
    }
    void remove_timer(detail::timer_node& node) noexcept { timers_.erase(node); }

private:
    struct ready_entry {
        std::coroutine_handle<> frame;
        detail::task_state_base* task;
    };

    class running_scope {
    public:
        explicit running_scope(event_loop& loop) {
            if (detail::running_loop_slot() != nullptr)
                throw invalid_state_error("corio: an event loop is already running in this thread");
            detail::running_loop_slot() = &loop;
        }
        running_scope(const running_scope&) = delete;
        running_scope& operator=(const running_scope&) = delete;
        ~running_scope() { detail::running_loop_slot() = nullptr; }
    };

    static std::uint64_t next_task_number() noexcept {
        static std::atomic<std::uint64_t> counter{0};
        return counter.fetch_add(1, std::memory_order_relaxed) + 1;
    }

    // One iteration: wait for I/O (not at all if something is ready), move due timers to the
    // ready queue, then run what was ready when the run began, so a task that yields with
    // sleep(0) runs again only after every other ready task ran once.
    void run_once() {
        if (ready_.empty() || ++busy_iterations_ % io_poll_interval == 0)
            backend_->wait(wait_timeout());
        expire_timers();
        for (std::size_t n = ready_.size(); n > 0; --n) {
            ready_entry e = ready_.front();
            ready_.pop_front();
            step(e);
        }
    }

    std::optional<clock::duration> wait_timeout() const {
        if (!ready_.empty())
            return clock::duration::zero();
        if (timers_.empty())
            return std::nullopt;
        const clock::time_point deadline = timers_.top().deadline();
        const clock::time_point now = clock::now();
        // Compared before subtracting: a deadline near time_point::min() would overflow.
        return deadline <= now ? clock::duration::zero() : deadline - now;
    }

    void expire_timers() {
        if (timers_.empty())
            return;
        const clock::time_point now = clock::now();
        while (!timers_.empty() && timers_.top().deadline() <= now)
            timers_.pop().expire();
    }

    void step(ready_entry e) {
        detail::task_state_base& task = *e.task;
        if (!task.started() && !task.start()) {
            task.finish_cancelled();
            retire(task);
            return;
        }
        current_ = &task;
        e.frame.resume();
        current_ = nullptr;
        if (task.frame_done()) {
            task.finish();
            retire(task);
        }
    }

    void retire(detail::task_state_base& task) noexcept {
        task.unlink();
        task.release();
    }

    // While tasks are ready the loop polls I/O only every so many iterations, so that a busy
    // loop does not pay a syscall per iteration (tokio does the same, every 61 ticks).
    static constexpr std::uint32_t io_poll_interval = 61;

    std::unique_ptr<detail::io_backend> backend_;
    std::deque<ready_entry> ready_;
    detail::timer_heap timers_;
    detail::intrusive_list<detail::task_state_base> tasks_;
    detail::task_state_base* current_ = nullptr;
    std::uint32_t busy_iterations_ = 0;
};

} // namespace corio
