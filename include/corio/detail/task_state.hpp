// SPDX-License-Identifier: MIT
// corio/detail/task_state.hpp: the state of one spawned task, shared by its handles and the
// loop, and the two interfaces it talks through: the waiter it is suspended on and the
// listeners waiting for it to finish.
// Layer L3. Loop thread only: the reference count is not atomic.
#pragma once

#include <corio/errors.hpp>
#include <corio/task.hpp>

#include <corio/detail/cancel_answer.hpp>
#include <corio/detail/frame_cache.hpp>
#include <corio/detail/intrusive_hlist.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/ledger.hpp>
#include <corio/detail/ready_queue.hpp>

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace corio::detail {

class task_state;

/// The awaitable a task is suspended on. Every suspending awaitable in corio is one, so every
/// suspension point is a cancellation point.
class waiter {
public:
    /// Asks the operation to end early because its task was cancelled. The task calls it at
    /// most once per suspension, so a hook never asks "was I cancelled already".
    virtual cancel_answer cancel() noexcept = 0;

    /// One line for dump_tasks: what the task waits for ("sleep, due in 2.500 s").
    virtual void describe(std::ostream& out) const = 0;

    /// The suspended frame, which the task's next step resumes.
    [[nodiscard]] std::coroutine_handle<> frame() const noexcept { return frame_; }

protected:
    ~waiter() = default;

    std::coroutine_handle<> frame_;
};

/// Told when a task finishes; handle awaiters, task groups and wait are listeners. Each
/// waits for the task through its own hook, which unlinks it when it is destroyed.
class done_listener : public hlist_hook {
public:
    /// Must not resume a coroutine inline: schedule it on the loop instead.
    virtual void task_done(task_state& task) noexcept = 0;

protected:
    ~done_listener() = default;
};

/// Told when a task finishes, by a task whose join slot it holds: gather and race wait for
/// many tasks with one of these instead of a listener for each.
class join_listener {
public:
    /// Must not resume a coroutine inline: schedule it on the loop instead.
    virtual void task_done(task_state& task) noexcept = 0;

protected:
    ~join_listener() = default;
};

/// Where a task's exception goes when nobody retrieved it: the loop's exception handler.
class unretrieved_sink {
public:
    /// Called once, when the last reference to `task` is dropped or the loop closes. The task
    /// is already out of the sink's list; the sink may take a reference for the report.
    virtual void report_unretrieved(task_state& task) noexcept = 0;

protected:
    ~unretrieved_sink() = default;
};

// The hook links a pending task into its loop's task list and, once it failed and until
// someone retrieves the exception, into the loop's list of unretrieved failures. The ready
// link queues its next step. One class for every result type, with no virtual function: the
// handles, which know the type, read the result (result<T>), and the state is 16 bytes
// smaller than it was with a vtable and a typed subclass.
class task_state : public list_hook, public ready_link {
public:
    /// Owns the frame of `body` once constructed.
    template <class T>
    explicit task_state(task<T> body) noexcept
        : frame_(body.release()), number_(next_number() & number_mask) {
        assert(&mutable_root() ==
               &std::coroutine_handle<promise<T>>::from_address(frame_.address()).promise());
        ++thread_ledger().live_tasks;
    }
    task_state(const task_state&) = delete;
    task_state& operator=(const task_state&) = delete;
    ~task_state() {
        if (frame_)
            frame_.destroy();
        --thread_ledger().live_tasks;
    }

    // From the frame cache, as the task's coroutine frame: spawn churn reuses both blocks.
    static void* operator new(std::size_t size) { return frame_cache::allocate(size); }
    static void operator delete(void* state, std::size_t size) noexcept {
        frame_cache::deallocate(state, size);
    }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ > 0)
            return;
        if (done_ && linked()) // nobody retrieved its exception: the report holds the last ref
            sink_->report_unretrieved(*this);
        else
            delete this;
    }

    [[nodiscard]] bool done() const noexcept { return done_; }
    [[nodiscard]] bool cancelled() const noexcept { return done_ && cancelled_; }
    /// The given name, or "Task-N". Formatted on first use: most tasks are never asked.
    [[nodiscard]] const std::string& name() const {
        std::string& name = extras().name;
        if (name.empty())
            name = "Task-" + std::to_string(std::uint64_t{number_});
        return name;
    }
    void set_name(std::string name) { extras().name = std::move(name); }

    /// The value of a task made from a task<T> (a copy when T is copyable, else moved out: a
    /// move-only result can be taken once), or the exception rethrown.
    template <class T>
    T result() {
        rethrow_if_failed();
        if constexpr (std::is_void_v<T>)
            return;
        else if constexpr (std::is_copy_constructible_v<T>)
            return typed_promise<T>().result();
        else
            return std::move(typed_promise<T>()).result();
    }

    /// The exception the task ended with (null if it returned); cancelled_error if cancelled.
    /// Looking does not count as retrieving it: see retrieve().
    [[nodiscard]] const std::exception_ptr& exception() const noexcept {
        static const std::exception_ptr none;
        return failed_ ? root().exception() : none;
    }

    /// The exception, marked as seen by someone, so that it is not reported as lost.
    const std::exception_ptr& retrieve() noexcept {
        retrieved_ = true;
        if (done_)
            unlink(); // out of the loop's list of unretrieved failures, if it is there
        return exception();
    }

    /// A failure (not a cancellation) that nobody has retrieved yet.
    [[nodiscard]] bool failed_unretrieved() const noexcept {
        return failed_ && !cancelled_ && !retrieved_;
    }

    /// asyncio's Task.cancel: false if the task is done; otherwise records the request and
    /// passes it to the waiter the task is suspended on, or keeps it for its next suspension.
    /// A suspension takes one request at most: once its waiter accepted one (or while it is
    /// taking one: a cycle of tasks awaiting each other comes back here), later requests only
    /// count, so a waiter's hook never runs twice and no cancellation is delivered twice.
    bool cancel(std::string_view message) {
        if (done_)
            return false;
        ++cancel_requests_;
        if (cancel_accepted_)
            return true;
        if (extras_ || !message.empty())
            extras().cancel_message = message;
        if (waiter_ == nullptr)
            must_cancel_ = true;
        else
            offer_cancel();
        return true;
    }

    [[nodiscard]] int cancelling() const noexcept { return cancel_requests_; }

    /// True while this task's waiter is being handed a cancellation: a waiter reached from
    /// that hook which waits for this task is part of a cycle of tasks awaiting each other.
    [[nodiscard]] bool cancel_in_progress() const noexcept { return offering_; }

    /// The loop's cancellation when it shuts down: sent once per task, whatever the task did
    /// with earlier requests.
    void cancel_for_shutdown() {
        if (shutdown_cancelled_)
            return;
        shutdown_cancelled_ = true;
        cancel({});
    }

    int uncancel() noexcept {
        if (cancel_requests_ > 0 && --cancel_requests_ == 0)
            must_cancel_ = false;
        return cancel_requests_;
    }

    [[nodiscard]] const std::string& cancel_message() const noexcept {
        static const std::string none;
        return extras_ ? extras_->cancel_message : none;
    }

    // --- used by the loop and the awaitables ---

    [[nodiscard]] std::coroutine_handle<> frame() const noexcept { return frame_; }
    [[nodiscard]] const promise_base& root() const noexcept { return mutable_root(); }
    /// What the task is suspended on; null while it runs, before it starts and once done.
    [[nodiscard]] const waiter* suspended_on() const noexcept { return done_ ? nullptr : waiter_; }
    [[nodiscard]] bool frame_done() const noexcept { return frame_.done(); }
    /// The frame the next step resumes: the root before the first step, then the frame
    /// suspended on the waiter (which stays set until the step resumes it).
    [[nodiscard]] std::coroutine_handle<> next_step() const noexcept {
        return waiter_ != nullptr ? waiter_->frame() : frame_;
    }

    /// Called once, before the first step. False when a cancellation arrived first: the task
    /// then ends cancelled without running any of its code, as in asyncio.
    bool start() noexcept {
        started_ = true;
        const bool cancelled_first = must_cancel_;
        must_cancel_ = false;
        return !cancelled_first;
    }
    [[nodiscard]] bool started() const noexcept { return started_; }

    /// Makes `w` the waiter the task is suspended on, and delivers a cancellation that was
    /// requested while the task was running.
    void suspend_on(waiter& w) noexcept {
        waiter_ = &w; // cancel_accepted_ is false: resumed() cleared it
        if (must_cancel_) {
            must_cancel_ = false;
            offer_cancel();
        }
    }
    void resumed() noexcept {
        waiter_ = nullptr;
        cancel_accepted_ = false;
    }

    /// A waiter that answered pending, then completed with a real result after all, keeps
    /// the result; the request it took goes to the next suspension, as a too-late one does.
    void cancel_at_next_suspension() noexcept { must_cancel_ = true; }

    void add_listener(done_listener& listener) noexcept { listeners_.push_front(listener); }

    /// Takes `join` into the task's one join slot; false when another join (or the same one,
    /// for a task it waits for twice) holds it: that one then adds a listener.
    [[nodiscard]] bool set_joiner(join_listener& join) noexcept {
        if (joiner_)
            return false;
        joiner_ = &join;
        return true;
    }
    /// Empties the slot if `join` holds it: a join that ends before the task must leave.
    void clear_joiner(const join_listener& join) noexcept {
        if (joiner_ == &join)
            joiner_ = nullptr;
    }

    /// Records the outcome of the finished frame and tells every listener. A cancellation
    /// still pending when the frame returns ends the task cancelled, as asyncio does: cancel()
    /// said true, so the task must not end as if it had never been asked.
    void finish() noexcept {
        const std::exception_ptr& e = root().exception();
        if (must_cancel_ && !e)
            finish_cancelled();
        else
            finish_with(e);
    }

    /// Ends a task that was cancelled before it started.
    void finish_cancelled() noexcept {
        mutable_root().set_exception(std::make_exception_ptr(cancelled_error(cancel_message())));
        finish_with(root().exception());
    }

    /// Destroys the frame of a task that can no longer finish (its loop is closing).
    void abandon() noexcept {
        waiter_ = nullptr;
        std::exchange(frame_, {}).destroy();
    }

    /// Throws invalid_state_error while the task is pending, its exception once it failed.
    /// Two tests, inlined where a handle is awaited; the throws are out of line.
    void rethrow_if_failed() {
        if (!done_)
            throw_not_ready();
        if (failed_)
            rethrow_failure();
    }

    /// Where the failure, not retrieved when the task finished, goes if nobody retrieves it:
    /// the loop's list of such failures, which the task is now in.
    void set_sink(unretrieved_sink& sink) noexcept { sink_ = &sink; }

private:
    // The root's promise, where the task's outcome is kept: the frame lives as long as the
    // state (until the loop abandons a task that can no longer finish). It follows the
    // frame's resume and destroy pointers, for every result type: task<T> allows no T aligned
    // beyond them.
    [[nodiscard]] promise_base& mutable_root() const noexcept {
        return *reinterpret_cast<promise_base*>(static_cast<char*>(frame_.address()) +
                                                promise_offset);
    }

    template <class T>
    promise<T>& typed_promise() const noexcept {
        return std::coroutine_handle<promise<T>>::from_address(frame_.address()).promise();
    }

    // What few tasks need, kept out of line so that the many do not carry it.
    struct extras_t {
        std::string name;           // empty until given or first asked for
        std::string cancel_message; // of the last request a suspension took
    };

    extras_t& extras() const {
        if (!extras_)
            extras_ = std::make_unique<extras_t>();
        return *extras_;
    }

    [[noreturn, gnu::cold]] void throw_not_ready() const {
        throw invalid_state_error("corio: result of task '" + name() + "' is not ready");
    }
    [[noreturn, gnu::cold]] void rethrow_failure() { std::rethrow_exception(retrieve()); }

    // Hands the request to the waiter; one that comes too late waits for the next suspension.
    void offer_cancel() noexcept {
        cancel_accepted_ = true;
        offering_ = true;
        const cancel_answer answer = waiter_->cancel();
        offering_ = false;
        if (answer == cancel_answer::too_late) {
            cancel_accepted_ = false;
            must_cancel_ = true;
        }
    }

    // `e` is the root's outcome, already in its promise.
    void finish_with(const std::exception_ptr& e) noexcept {
        done_ = true;
        must_cancel_ = false;
        waiter_ = nullptr;
        failed_ = e != nullptr;
        cancelled_ = failed_ && is_cancellation(e);
        if (join_listener* join = std::exchange(joiner_, nullptr))
            join->task_done(*this);
        listeners_.reverse(); // added newest first; told in the order they came
        while (done_listener* l = listeners_.pop_front())
            l->task_done(*this);
    }

    // Counted per thread, as a task is made on its loop's thread: a process-wide atomic cost
    // a locked instruction, a tenth of a spawn. Names are unique among one thread's tasks.
    static std::uint64_t next_number() noexcept {
        thread_local constinit std::uint64_t made = 0;
        return ++made;
    }

    // 48 bits: a thread making a task every 10 ns would need a month to wrap them.
    static constexpr std::uint64_t number_mask = (std::uint64_t{1} << 48) - 1;

    // Every spawned task has one of these beside its frame, so its bytes are counted: the
    // flags share a word with the task number, and the outcome lives in the root's promise.
    std::coroutine_handle<> frame_; // owned; null once abandoned
    mutable std::unique_ptr<extras_t> extras_;
    // A task waits on a waiter only until it finishes, and in a sink only after: one word.
    union {
        waiter* waiter_ = nullptr; // while it runs
        unretrieved_sink* sink_;   // once it failed, until someone retrieves the exception
    };
    intrusive_hlist<done_listener> listeners_;
    join_listener* joiner_ = nullptr;
    int refs_ = 0;
    int cancel_requests_ = 0;
    std::uint64_t number_ : 48;
    bool must_cancel_ : 1 = false;
    bool cancel_accepted_ : 1 = false; // the current suspension took a request
    bool offering_ : 1 = false;        // offer_cancel() is on the stack
    bool started_ : 1 = false;
    bool done_ : 1 = false;
    bool failed_ : 1 = false; // ended with an exception, kept in the root's promise
    bool cancelled_ : 1 = false;
    bool shutdown_cancelled_ : 1 = false;
    bool retrieved_ : 1 = false;
};

// Every spawned task carries one, in the frame cache's class of 80 bytes; W2 and W3 of the
// benchmarks count it.
static_assert(sizeof(void*) != 8 || sizeof(task_state) <= 80);

/// An owning, intrusively counted pointer to a task state.
class task_ref {
public:
    task_ref() noexcept = default;
    explicit task_ref(task_state* s) noexcept : state_(s) {
        if (state_)
            state_->add_ref();
    }
    task_ref(const task_ref& other) noexcept : task_ref(other.state_) {}
    task_ref(task_ref&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    task_ref& operator=(task_ref other) noexcept {
        std::swap(state_, other.state_);
        return *this;
    }
    ~task_ref() {
        if (state_)
            state_->release();
    }

    [[nodiscard]] task_state* get() const noexcept { return state_; }
    task_state* operator->() const noexcept { return state_; }
    task_state& operator*() const noexcept { return *state_; }
    explicit operator bool() const noexcept { return state_ != nullptr; }

private:
    task_state* state_ = nullptr;
};

} // namespace corio::detail
