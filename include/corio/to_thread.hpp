// SPDX-License-Identifier: MIT
// corio/to_thread.hpp: to_thread, which runs a blocking function on the loop's thread pool
// and lets the awaiting task wait for it without blocking the loop.
// Layer L5.
#pragma once

#include <corio/errors.hpp>
#include <corio/outcome.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>
#include <corio/detail/thread_pool.hpp>

#include <atomic>
#include <concepts>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <type_traits>
#include <utility>

namespace corio {
namespace detail {

template <class Fn>
class to_thread_awaiter;

// One to_thread call, shared by the awaiting task (loop thread), the pool thread that runs it
// and the callback that brings the result back. The awaiter may go at any time (its task was
// cancelled): it only unhooks itself, and whatever holds the call last frees it.
template <class Fn>
class thread_call {
public:
    // A function that returns T&& gives a T, moved out of what it referred to.
    using result_type = std::conditional_t<std::is_rvalue_reference_v<std::invoke_result_t<Fn&>>,
                                           std::remove_cvref_t<std::invoke_result_t<Fn&>>,
                                           std::invoke_result_t<Fn&>>;

    thread_call(loop_core& loop, Fn fn) : loop_(&loop), fn_(std::move(fn)) {}

    /// Pool thread: runs the function unless the awaiter gave up first, then hands the call
    /// back to the loop. The loop's inbox lock orders the result's write before its read.
    static void run(std::shared_ptr<thread_call> self) noexcept {
        stage queued = stage::queued;
        if (!self->stage_.compare_exchange_strong(
                queued, stage::running, std::memory_order_acq_rel))
            return; // abandoned while queued: never runs, as asyncio's cancelled pending futures
        self->execute();
        self->stage_.store(stage::done, std::memory_order_release);
        loop_core& loop = *self->loop_;
        loop.post([call = std::move(self)] { call->deliver(); });
    }

    // --- Loop thread only from here. ---

    void listen(to_thread_awaiter<Fn>& awaiter) noexcept { awaiter_ = &awaiter; }

    /// The awaiter no longer waits: a call still queued will never run, and its function
    /// goes now, on the loop thread; a running one runs to its end and its result is dropped.
    void give_up() noexcept {
        awaiter_ = nullptr;
        stage queued = stage::queued;
        if (stage_.compare_exchange_strong(queued, stage::abandoned, std::memory_order_acq_rel)) {
            fn_.reset(); // no pool thread touches it once the call is abandoned
            if (submitted_)
                loop_->call_came_back(); // it never will
        }
    }

    /// The pool has it: its result, or its abandonment, will come back.
    void submitted() noexcept {
        submitted_ = true;
        loop_->call_went_out();
    }

    /// The function's value, or its exception rethrown. Once.
    result_type take() {
        if constexpr (std::is_void_v<result_type>)
            result_->value();
        else if constexpr (std::is_reference_v<result_type>)
            return std::move(*result_).value().get();
        else
            return std::move(*result_).value();
    }

    [[nodiscard]] loop_core& loop() const noexcept { return *loop_; }

    /// For dump_tasks.
    [[nodiscard]] const char* progress() const noexcept {
        switch (stage_.load(std::memory_order_acquire)) {
        case stage::queued:
            return "queued for a pool thread";
        case stage::running:
            return "running on a pool thread";
        case stage::done:
            return "finished, its result on the way back";
        case stage::abandoned:
            break;
        }
        return "abandoned";
    }

private:
    enum class stage : unsigned char { queued, running, done, abandoned };

    // A reference result is kept as a reference_wrapper: outcome holds objects only.
    using stored_type =
        std::conditional_t<std::is_reference_v<result_type>,
                           std::reference_wrapper<std::remove_reference_t<result_type>>,
                           result_type>;

    void execute() noexcept {
        try {
            if constexpr (std::is_void_v<result_type>) {
                (*fn_)();
                result_.emplace();
            } else {
                result_.emplace((*fn_)());
            }
        } catch (...) {
            result_.emplace(outcome<stored_type>::failure(std::current_exception()));
        }
        fn_.reset(); // the function and its arguments end on the thread that ran them
    }

    void deliver() noexcept;

    loop_core* loop_;
    std::optional<Fn> fn_;
    std::optional<outcome<stored_type>> result_;
    std::atomic<stage> stage_{stage::queued};
    to_thread_awaiter<Fn>* awaiter_ = nullptr;
    bool submitted_ = false; // loop thread only
};

// The pool's handle on a call.
template <class Fn>
class thread_call_job final : public pool_job {
public:
    explicit thread_call_job(std::shared_ptr<thread_call<Fn>> call) noexcept
        : call_(std::move(call)) {}
    void run() noexcept override { thread_call<Fn>::run(std::move(call_)); }

private:
    std::shared_ptr<thread_call<Fn>> call_;
};

template <class Fn>
class to_thread_awaiter final : public loop_waiter {
public:
    using result_type = typename thread_call<Fn>::result_type;

    to_thread_awaiter(loop_core& loop, Fn fn)
        : loop_waiter(loop), call_(std::make_shared<thread_call<Fn>>(loop, std::move(fn))) {}
    to_thread_awaiter(to_thread_awaiter&&) noexcept = default; // before it is awaited only
    ~to_thread_awaiter() {
        if (call_)
            call_->give_up();
    }

    bool await_ready() const noexcept { return false; }

    // The task suspends before the call goes to the pool: a cancellation it already carries
    // (requested while it ran) arrives in wait() and abandons the call, which is then never
    // submitted. Submitted first, a pool thread could start it before the cancellation came.
    void await_suspend(std::coroutine_handle<> frame) {
        if (!call_ || awaited_)
            throw invalid_state_error("corio: a to_thread awaitable can be awaited only once");
        bind(frame);
        awaited_ = true;
        thread_pool& pool = call_->loop().default_thread_pool();
        auto job = std::make_unique<thread_call_job<Fn>>(call_);
        call_->listen(*this);
        wait();
        if (cancelled())
            return;
        try {
            pool.submit(std::move(job));
            call_->submitted();
        } catch (...) { // not suspended after all: the exception resumes the task at once
            owner().resumed();
            throw;
        }
    }

    result_type await_resume() {
        resumed();
        return call_->take();
    }

    void describe(std::ostream& out) const override {
        out << "to_thread, " << (resume_queued() && !cancelled() ? "done" : call_->progress());
    }

    /// The call came back (loop thread).
    void completed() noexcept { resume_later(); }

private:
    // The task resumes now; the function, if it runs already, runs on unawaited. Once the
    // result is back it is not dropped.
    cancel_answer stop() noexcept override {
        if (resume_queued())
            return cancel_answer::too_late;
        call_->give_up();
        return cancel_answer::stopped;
    }

    std::shared_ptr<thread_call<Fn>> call_;
    bool awaited_ = false;
};

template <class Fn>
void thread_call<Fn>::deliver() noexcept {
    loop_->call_came_back();
    if (awaiter_ != nullptr)
        std::exchange(awaiter_, nullptr)->completed();
}

} // namespace detail

/// Runs `fn(args...)` on the running loop's default thread pool and suspends the calling task
/// until it returns; the loop runs other tasks meanwhile. Yields fn's value, or rethrows its
/// exception in the awaiting task. asyncio: `asyncio.to_thread(fn, *args)`, or
/// `loop.run_in_executor(None, fn, *args)`.
/// `fn` and the arguments are decay-copied, as std::thread does: pass `std::ref(x)` to share
/// `x` (which must then outlive the call). Move-only callables, arguments and results work;
/// a reference result is returned as a reference.
/// The pool starts on the first call, with up to min(32, cores + 4) threads (asyncio's
/// default); calls beyond that wait their turn in FIFO order. Nothing runs until the
/// awaitable is awaited, as with asyncio's coroutine.
/// Cancellation: the task resumes at once with `cancelled_error`. A call not started yet
/// never runs; one running runs to its end and its result or exception is dropped (C++, like
/// Python, cannot stop a thread). A result that came back before the cancellation is
/// returned, and the cancellation arrives at the task's next suspension.
/// Throws: `no_running_loop` outside a running loop; when awaited, `invalid_state_error`
/// when awaited a second time or after the loop's shutdown_default_executor, and
/// `std::system_error` when no thread can be started.
template <class F, class... Args>
requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
[[nodiscard]] auto to_thread(F&& fn, Args&&... args) {
    auto call = [fn = std::forward<F>(fn),
                 ... args = std::forward<Args>(args)]() mutable -> decltype(auto) {
        return std::invoke(std::move(fn), std::move(args)...);
    };
    return detail::to_thread_awaiter<decltype(call)>(detail::running_core(), std::move(call));
}

} // namespace corio
