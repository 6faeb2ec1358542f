// SPDX-License-Identifier: MIT
// corio/event_loop.hpp: event_loop, which runs tasks, callbacks, timers and I/O on one
// thread, and get_running_loop.
// Layer L4. A thin facade: the loop core (scheduler, backend, inbox, thread pool), the task
// registry and the interrupts are parts of their own; this header adds the iteration, the
// exception handler and debug mode.
#pragma once

#include <corio/callback_handle.hpp>
#include <corio/clock.hpp>
#include <corio/errors.hpp>
#include <corio/exception_context.hpp>
#include <corio/loop_options.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <corio/detail/backend/select.hpp>
#include <corio/detail/callback.hpp>
#include <corio/detail/interrupts.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/io_awaiter.hpp>
#include <corio/detail/ledger.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/socket_ops.hpp>
#include <corio/detail/task_dump.hpp>
#include <corio/detail/task_registry.hpp>
#include <corio/detail/task_state.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

namespace corio {

/// One event loop: a FIFO of ready tasks and callbacks, a timer heap and an I/O backend, run
/// on the thread that calls run_until_complete. asyncio: `asyncio.EventLoop`. Most programs
/// only call `corio::run`, which creates and closes one.
/// Thread safety: loop thread only, except call_soon_threadsafe.
class event_loop final : public detail::loop_core, private detail::exception_reporter {
public:
    /// Throws: `std::system_error` when the backend cannot be set up; `std::invalid_argument`
    /// for a bad `CORIO_BACKEND`.
    explicit event_loop(loop_options options = {})
        : event_loop(detail::make_backend(options.backend), options) {}

    /// A loop on a backend made by the caller: corio::testing's virtual-time one.
    event_loop(std::unique_ptr<detail::io_backend> backend, loop_options options)
        : loop_core(std::move(backend)), tasks_(*this),
          debug_(options.debug || debug_from_environment()) {}

    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    /// Destroys the frames of tasks that are still pending, unrun, and drops pending
    /// callbacks; `corio::run` cancels and awaits the tasks before it gets here. Failures
    /// nobody retrieved are reported now, since their handles may outlive the loop.
    /// Repeated until nothing is left: the exception handler or a destroyed frame may queue
    /// more work meanwhile, which is dropped in turn. Then waits for the thread pool's jobs
    /// that are still running (see shutdown_default_executor); what they send back is dropped.
    ~event_loop() {
        closing_ = true;
        remove_fd_callbacks();
        backend_->cancel_all(); // before any frame that owns an operation goes
        drop_pending_work();
        if (pool_)
            pool_->shutdown();
        inbox_.drop();
    }

    /// Runs `main` as a task and the loop until it is done; returns its value or rethrows.
    /// Other tasks stay pending when it returns. asyncio: `loop.run_until_complete`.
    /// Throws: `invalid_state_error` when a loop is already running on this thread, or when
    /// stop() ended the run before `main` was done (main stays pending).
    template <class T>
    T run_until_complete(task<T> main) {
        auto state = start_task(std::move(main));
        run_until_done(*state);
        return state->template result<T>();
    }

    /// Runs the loop until stop() is called. asyncio: `loop.run_forever()`.
    /// Throws: `invalid_state_error` when a loop is already running on this thread.
    void run_forever() {
        running_scope scope(*this);
        do // one iteration at least, as asyncio: stop() before run_forever() runs one
            run_once();
        while (!std::exchange(stopping_, false));
    }

    /// Ends run_forever (or run_until_complete) after the current iteration.
    /// asyncio: `loop.stop()`.
    void stop() noexcept { stopping_ = true; }

    /// True while this loop runs on its thread. asyncio: `loop.is_running()`.
    [[nodiscard]] bool is_running() const noexcept { return detail::running_core_slot() == this; }

    /// Calls `fn(args...)` in the next run of ready work, after what is queued already.
    /// asyncio: `loop.call_soon(fn, *args)`. An exception from `fn` goes to the exception
    /// handler.
    template <class F, class... Args>
    callback_handle call_soon(F&& fn, Args&&... args) {
        auto callback = make_callback(std::forward<F>(fn), std::forward<Args>(args)...);
        schedule(*callback);
        return callback_handle(adopt(std::move(callback)));
    }

    /// Calls `fn(args...)` at `when`. asyncio: `loop.call_at(when, fn, *args)`.
    template <class F, class... Args>
    timer_handle call_at(clock::time_point when, F&& fn, Args&&... args) {
        auto callback = make_callback(std::forward<F>(fn), std::forward<Args>(args)...);
        timers_.push(*callback, when);
        return timer_handle(adopt(std::move(callback)));
    }

    /// Calls `fn(args...)` after `delay`. asyncio: `loop.call_later(delay, fn, *args)`.
    template <class Rep, class Period, class F, class... Args>
    timer_handle call_later(std::chrono::duration<Rep, Period> delay, F&& fn, Args&&... args) {
        return call_at(
            detail::deadline_after(now(), delay), std::forward<F>(fn), std::forward<Args>(args)...);
    }

    /// call_soon from any thread: wakes the loop if it is waiting. Unlike asyncio it returns
    /// no handle, since a handle could not be used safely from the calling thread.
    /// asyncio: `loop.call_soon_threadsafe(fn, *args)`.
    template <class F, class... Args>
    void call_soon_threadsafe(F&& fn, Args&&... args) {
        inbox_.post(make_callback(std::forward<F>(fn), std::forward<Args>(args)...));
    }

    /// Calls `fn(args...)` on the loop while `fd` is readable, until remove_reader(fd):
    /// level-triggered, as asyncio. Once per look at I/O: every iteration while the loop has
    /// nothing else to run, and while it stays busy once every 1,024 task steps. A second
    /// add_reader for the same fd replaces the first. The fd stays the caller's: corio never closes
    /// it. An exception from `fn` goes to the exception handler and the reader stays registered.
    /// asyncio: `loop.add_reader(fd, callback, *args)`.
    /// Throws: `std::system_error` for an fd that cannot be watched (EBADF; EPERM for a
    /// regular file, as asyncio).
    template <class F, class... Args>
    void add_reader(int fd, F&& fn, Args&&... args) {
        add_fd_callback(detail::io_direction::read,
                        fd,
                        bind_args(std::forward<F>(fn), std::forward<Args>(args)...));
    }

    /// Stops calling fd's reader; false if it had none. asyncio: `loop.remove_reader(fd)`.
    bool remove_reader(int fd) noexcept {
        return remove_fd_callback(detail::io_direction::read, fd);
    }

    /// add_reader, for writability. asyncio: `loop.add_writer(fd, callback, *args)`.
    template <class F, class... Args>
    void add_writer(int fd, F&& fn, Args&&... args) {
        add_fd_callback(detail::io_direction::write,
                        fd,
                        bind_args(std::forward<F>(fn), std::forward<Args>(args)...));
    }

    /// Stops calling fd's writer; false if it had none. asyncio: `loop.remove_writer(fd)`.
    bool remove_writer(int fd) noexcept {
        return remove_fd_callback(detail::io_direction::write, fd);
    }

    // --- asyncio's loop.sock_*: awaited inside a task of this loop, on a non-blocking socket
    // that stays the caller's. OS failures throw std::system_error with the errno as it is
    // (ENOTSOCK for a descriptor that is not a socket). A cancelled operation never touches
    // its buffer once the task has resumed; a receive that completed although it was
    // cancelled returns its data, and the cancellation comes at the task's next suspension.

    /// Receives up to `buffer.size()` bytes: how many came, 0 at the end of the stream.
    /// asyncio: `await loop.sock_recv_into(sock, buf)`.
    [[nodiscard]] detail::io_awaiter<detail::recv_op> sock_recv(int fd,
                                                                std::span<std::byte> buffer) {
        return {*this, {fd, buffer}};
    }

    /// Sends every byte of `data`, however many sends it takes; never raises SIGPIPE (a peer
    /// that left gives EPIPE or ECONNRESET). Cancelled midway, part of `data` may have gone.
    /// asyncio: `await loop.sock_sendall(sock, data)`.
    [[nodiscard]] detail::io_awaiter<detail::sendall_op>
    sock_sendall(int fd, std::span<const std::byte> data) {
        return {*this, {fd, data}};
    }

    /// Accepts a connection on a listening socket: its socket (non-blocking, close-on-exec)
    /// and the peer's address. asyncio: `await loop.sock_accept(sock)`.
    [[nodiscard]] detail::io_awaiter<detail::accept_op> sock_accept(int fd) {
        return {*this, detail::accept_op(fd)};
    }

    /// Connects to `peer`; a refusal throws std::system_error with
    /// std::errc::connection_refused. asyncio: `await loop.sock_connect(sock, address)`.
    [[nodiscard]] detail::io_awaiter<detail::connect_op> sock_connect(int fd,
                                                                      const endpoint& peer) {
        return {*this, {fd, peer}};
    }

    /// Receives one datagram, truncated to `buffer.size()`, and its sender.
    /// asyncio: `await loop.sock_recvfrom_into(sock, buf)`.
    [[nodiscard]] detail::io_awaiter<detail::recvfrom_op>
    sock_recvfrom(int fd, std::span<std::byte> buffer) {
        return {*this, {fd, buffer}};
    }

    /// Sends one datagram to `peer`: the bytes sent. asyncio: `await loop.sock_sendto(sock,
    /// data, address)`.
    [[nodiscard]] detail::io_awaiter<detail::sendto_op>
    sock_sendto(int fd, std::span<const std::byte> data, const endpoint& peer) {
        return {*this, {fd, data, peer}};
    }

    /// Runs the loop until the default thread pool's jobs (to_thread's) have ended, the
    /// queued ones included, and joins its threads; a job may still call back into the loop
    /// meanwhile. A later to_thread throws `invalid_state_error`. `corio::run` calls it after
    /// its last task is done; the destructor joins the pool without running the loop.
    /// asyncio: `await loop.shutdown_default_executor()`, here a plain call, made between runs.
    /// Throws: `invalid_state_error` when a loop is running on this thread (inside a task).
    void shutdown_default_executor() {
        running_scope scope(*this);
        pool_shut_down_ = true;
        if (!pool_)
            return;
        // A thread joins the pool, so that this one can run the loop until it is done.
        pool_joined_ = false;
        std::jthread joiner;
        try {
            joiner = std::jthread([this] {
                pool_->shutdown();
                call_soon_threadsafe([this] { pool_joined_ = true; });
            });
        } catch (const std::system_error&) { // no thread to spare: join here, the loop stands
            pool_->shutdown();
            return;
        }
        while (!pool_joined_)
            run_once();
    }

    /// The loop's clock. asyncio: `loop.time()`.
    [[nodiscard]] clock::time_point time() const noexcept { return now(); }

    /// "epoll" or "io_uring".
    [[nodiscard]] std::string_view backend_name() const noexcept { return backend_->name(); }

    /// Replaces the handler of exceptions nobody else could take: a failed task nobody
    /// awaited, a callback that threw. An empty function restores the default, which prints
    /// one line on stderr. asyncio: `loop.set_exception_handler`.
    void set_exception_handler(exception_handler handler) { handler_ = std::move(handler); }
    [[nodiscard]] const exception_handler& get_exception_handler() const noexcept {
        return handler_;
    }

    /// Passes `context` to the exception handler. An exception thrown by the handler is
    /// reported by the default handler. asyncio: `loop.call_exception_handler`.
    void call_exception_handler(const exception_context& context) noexcept override {
        if (!handler_) {
            default_exception_handler(context);
            return;
        }
        try {
            // A copy: the handler may replace itself while it runs.
            const exception_handler handler = handler_;
            handler(*this, context);
        } catch (...) {
            default_exception_handler(
                {"Unhandled error in exception handler", std::current_exception(), context.task});
            default_exception_handler(context);
        }
    }

    /// One line on stderr: "corio: <message> (task 'name'): <what()>".
    /// asyncio: `loop.default_exception_handler`.
    static void default_exception_handler(const exception_context& context) noexcept {
        ++detail::thread_ledger().lost_exceptions;
        try {
            std::string line = "corio: " + context.message;
            if (context.task)
                line += " (task '" + context.task.name() + "')";
            if (context.exception)
                line += ": " + detail::describe(context.exception);
            std::fprintf(stderr, "%s\n", line.c_str());
        } catch (...) {
            std::fprintf(stderr, "corio: %s\n", context.message.c_str());
        }
    }

    /// Debug mode: slow steps are reported. asyncio: `loop.get_debug()` / `set_debug()`.
    [[nodiscard]] bool get_debug() const noexcept { return debug_; }
    void set_debug(bool enabled) noexcept { debug_ = enabled; }

    /// In debug mode, a task step or callback that holds the loop at least this long is
    /// reported on stderr with its name. asyncio: `loop.slow_callback_duration` (100 ms).
    [[nodiscard]] clock::duration slow_callback_duration() const noexcept { return slow_; }
    void set_slow_callback_duration(clock::duration d) noexcept { slow_ = d; }

    /// Writes every live task with its name, its state and, for a suspended task, the chain
    /// of coroutines it is suspended in, outermost first, down to what it waits for:
    ///
    ///     <task 'worker' suspended>
    ///         outer (app.cpp:20)
    ///         inner (app.cpp:12)
    ///         sleep, due in 2.500 s
    ///
    /// Like a thread dump, for coroutines.
    void dump_tasks(std::ostream& out) const {
        tasks_.for_each([&](const detail::task_state& t) { detail::dump_task(out, t, current_); });
    }

    // --- The rest is corio's own machinery, used by its awaitables and by run(). ---

    /// Registers `body` as a new task and schedules its first step.
    template <class T>
    detail::task_ref start_task(task<T> body) {
        return start(make_state(std::move(body)));
    }

    /// The same, for a task given a name (an empty one means the default, "Task-N").
    template <class T>
    detail::task_ref start_task(task<T> body, std::string name) {
        auto owned = make_state(std::move(body));
        if (!name.empty())
            owned->set_name(std::move(name));
        return start(std::move(owned));
    }

    /// Runs iterations until `task` is done.
    /// Throws: `invalid_state_error` when stop() ends the run first.
    void run_until_done(detail::task_state& task) {
        running_scope scope(*this);
        while (!task.done()) {
            run_once();
            if (std::exchange(stopping_, false) && !task.done())
                throw invalid_state_error("corio: event loop stopped before the task completed");
        }
    }

    /// asyncio.run's epilogue: cancels every task still alive, once, and runs the loop until
    /// all of them are done. A task spawned meanwhile is cancelled once too; a task that
    /// swallows its cancellation is waited for, as asyncio.run does.
    void cancel_all_and_wait() {
        running_scope scope(*this);
        while (!tasks_.empty()) {
            tasks_.for_each([](detail::task_state& t) { t.cancel_for_shutdown(); });
            run_once();
        }
    }

    template <class F>
    void for_each_task(F&& f) {
        tasks_.for_each(std::forward<F>(f));
    }

    /// SIGINT arrived: async-signal-safe, so a signal handler may call it. The loop cancels
    /// `main` (see interrupt_main) at its next iteration; a second interrupt cancels every
    /// task still alive.
    void interrupt() noexcept {
        interrupts_.raise();
        backend_->wake();
    }

    /// The task an interrupt cancels first: run()'s main.
    void interrupt_main(detail::task_state* main) noexcept { interrupts_.set_main(main); }

    /// How many interrupts the loop has acted on.
    [[nodiscard]] int interrupts_handled() const noexcept { return interrupts_.handled(); }

private:
    template <class T>
    static std::unique_ptr<detail::task_state> make_state(task<T> body) {
        detail::check_unstarted(body, "spawn");
        return std::make_unique<detail::task_state>(std::move(body));
    }

    detail::task_ref start(std::unique_ptr<detail::task_state> owned) {
        auto* state = owned.release();
        schedule(*state);
        tasks_.add(*state); // the loop's reference, dropped when the task finishes
        return detail::task_ref(state);
    }

    // add_reader's (add_writer's) callback: queued at most once per iteration in which the
    // backend finds its fd ready, and never after it was removed. The function is shared
    // with the queued call, so a callback may remove (destroy) its own registration.
    class fd_callback final : public detail::fd_watcher {
    public:
        fd_callback(event_loop& loop, std::function<void()> fn)
            : loop_(&loop), fn_(std::make_shared<std::function<void()>>(std::move(fn))) {}
        fd_callback(const fd_callback&) = delete;
        fd_callback& operator=(const fd_callback&) = delete;
        ~fd_callback() { queued_call_.cancel(); }

        void ready() noexcept override {
            if (queued_)
                return;
            try {
                queued_call_ = loop_->call_soon([this, fn = fn_] {
                    queued_ = false;
                    (*fn)();
                });
                queued_ = true;
            } catch (...) { // out of memory: level-triggered, so the next iteration asks again
            }
        }

    private:
        event_loop* loop_;
        std::shared_ptr<std::function<void()>> fn_;
        callback_handle queued_call_;
        bool queued_ = false;
    };
    using fd_callbacks = std::unordered_map<int, std::unique_ptr<fd_callback>>;

    fd_callbacks& fd_callbacks_for(detail::io_direction d) noexcept {
        return d == detail::io_direction::read ? readers_ : writers_;
    }

    void add_fd_callback(detail::io_direction d, int fd, std::function<void()> fn) {
        auto callback = std::make_unique<fd_callback>(*this, std::move(fn));
        fd_callbacks& callbacks = fd_callbacks_for(d);
        // The slot first: the backend must never point at a callback the map does not hold.
        auto [slot, added] = callbacks.try_emplace(fd);
        try {
            backend_->watch(fd, d, *callback);
        } catch (...) {
            if (added)
                callbacks.erase(slot);
            throw;
        }
        slot->second = std::move(callback); // the one it replaces goes, its queued call too
    }

    bool remove_fd_callback(detail::io_direction d, int fd) noexcept {
        fd_callbacks& callbacks = fd_callbacks_for(d);
        auto it = callbacks.find(fd);
        if (it == callbacks.end())
            return false;
        backend_->unwatch(fd, d);
        callbacks.erase(it);
        return true;
    }

    void remove_fd_callbacks() noexcept {
        for (auto d : {detail::io_direction::read, detail::io_direction::write}) {
            for (auto& [fd, callback] : fd_callbacks_for(d))
                backend_->unwatch(fd, d);
            fd_callbacks_for(d).clear();
        }
    }

    class running_scope {
    public:
        explicit running_scope(event_loop& loop) {
            if (detail::running_core_slot() != nullptr)
                throw invalid_state_error("corio: an event loop is already running in this thread");
            detail::running_core_slot() = &loop;
        }
        running_scope(const running_scope&) = delete;
        running_scope& operator=(const running_scope&) = delete;
        ~running_scope() { detail::running_core_slot() = nullptr; }
    };

    // The destructor's first part: everything queued or pending goes, unrun.
    void drop_pending_work() noexcept {
        do {
            ready_.clear();
            while (detail::callback_node* c = pending_callbacks_.pop_front()) {
                if (c->scheduled())
                    timers_.erase(*c);
                c->release();
            }
            inbox_.drop();
            tasks_.close();
        } while (!ready_.empty() || !pending_callbacks_.empty() || !tasks_.empty());
    }

    static bool debug_from_environment() noexcept {
        const char* value = std::getenv("CORIO_DEBUG");
        return value != nullptr && *value != '\0' && std::string_view(value) != "0";
    }

    // The loop's reference: the callback is pending until it runs or is cancelled.
    detail::callback_node& adopt(std::unique_ptr<detail::callback_node> callback) noexcept {
        detail::callback_node& node = *callback.release();
        pending_callbacks_.push_back(node);
        return node;
    }

    // One iteration: wait for I/O (not at all if something is ready), take what other threads
    // and signals sent, move due timers to the ready queue, then run what was ready when the
    // run began, so a task that yields with sleep(0) runs again only after every other ready
    // task ran once.
    void run_once() {
        if (ready_.empty() || steps_since_poll_ >= io_poll_steps) {
            steps_since_poll_ = 0;
            wait();
        }
        if (inbox_.full())
            take_inbox();
        if (interrupts_.pending())
            handle_interrupts();
        expire_timers();
        steps_since_poll_ += ready_.size();
        for (std::size_t n = ready_.size(); n > 0; --n) {
            const detail::ready_queue::item next = ready_.pop_front();
            if (debug_)
                run_timed(next);
            else
                run(next);
        }
    }

    // Until the first timer's deadline, in the loop's time.
    void wait() {
        if (!ready_.empty() || inbox_.full())
            backend_->wait(clock::time_point::min()); // a deadline past: only poll
        else if (timers_.empty())
            backend_->wait(std::nullopt);
        else
            backend_->wait(timers_.top().deadline());
    }

    void take_inbox() {
        for (std::unique_ptr<detail::callback_node>& callback : inbox_.take()) {
            schedule(*callback);
            adopt(std::move(callback));
        }
    }

    // Debug mode shows what was running when the first interrupt came, before it cancels.
    void handle_interrupts() {
        if (interrupts_.handled() == 0 && debug_) {
            std::ostringstream dump;
            dump_tasks(dump);
            std::fprintf(stderr, "corio: interrupted; live tasks:\n%s", dump.str().c_str());
        }
        interrupts_.handle(tasks_);
    }

    void expire_timers() {
        if (timers_.empty())
            return;
        const clock::time_point t = now();
        while (!timers_.empty() && timers_.top().deadline() <= t)
            timers_.pop().expire();
    }

    static detail::task_state* task_of(detail::ready_queue::item item) noexcept {
        if (item.what == detail::ready_queue::kind::callback)
            return nullptr;
        return static_cast<detail::task_state*>(item.link);
    }

    void run(detail::ready_queue::item item) {
        if (detail::task_state* task = task_of(item))
            step(*task);
        else
            run_callback(*static_cast<detail::callback_node*>(item.link));
    }

    // Debug mode: run() with a stopwatch. The reference keeps a task that finishes in this
    // step alive long enough to be named.
    void run_timed(detail::ready_queue::item item) {
        detail::task_ref task(task_of(item));
        const clock::time_point start = clock::now();
        run(item);
        const clock::duration took = clock::now() - start;
        if (took < slow_)
            return;
        using ms = std::chrono::duration<double, std::milli>;
        std::string what = task ? "task '" + task->name() + "'" : "a callback";
        std::fprintf(stderr,
                     "corio: %s held the loop for %.1f ms (slow_callback_duration is %.1f ms)\n",
                     what.c_str(),
                     ms(took).count(),
                     ms(slow_).count());
    }

    void step(detail::task_state& task) {
        const std::coroutine_handle<> frame = task.next_step();
        if (!task.started() && !task.start()) {
            task.finish_cancelled();
            tasks_.retire(task);
            return;
        }
        current_ = &task;
        frame.resume();
        current_ = nullptr;
        if (task.frame_done()) {
            task.finish();
            tasks_.retire(task);
        }
    }

    void run_callback(detail::callback_node& callback) noexcept {
        callback.unlink(); // no longer pending: cancelling it from inside is a no-op
        if (!callback.cancelled()) {
            try {
                callback.invoke();
            } catch (...) {
                call_exception_handler({"Exception in callback", std::current_exception(), {}});
            }
        }
        callback.release();
    }

    // While tasks are ready the loop polls I/O only once this many steps ran since it last
    // did, so a busy loop does not pay a system call for every few steps: two tasks handing
    // work back and forth take one step per iteration, and a poll every 61 iterations (tokio's
    // interval) was half of their time where a system call costs microseconds.
    static constexpr std::size_t io_poll_steps = 1024;
    static constexpr clock::duration default_slow_callback_duration =
        std::chrono::milliseconds(100);

    detail::task_registry tasks_;
    fd_callbacks readers_;
    fd_callbacks writers_;
    detail::intrusive_list<detail::callback_node> pending_callbacks_;
    exception_handler handler_;
    bool pool_joined_ = false; // set through the inbox by shutdown_default_executor's joiner
    detail::interrupts interrupts_;
    clock::duration slow_ = default_slow_callback_duration;
    std::size_t steps_since_poll_ = 0;
    bool debug_;
    bool stopping_ = false;
};

/// The loop that runs tasks on this thread. asyncio: `asyncio.get_running_loop()`.
/// Throws: `no_running_loop` when no loop is running on this thread.
inline event_loop& get_running_loop() {
    // Every loop core is an event_loop's: the core exists so that awaitables need not
    // include this header.
    return static_cast<event_loop&>(detail::running_core());
}

/// The running loop's dump_tasks: every live task and the chain it is suspended in.
/// Throws: `no_running_loop` outside a running loop.
inline void dump_tasks(std::ostream& out) {
    get_running_loop().dump_tasks(out);
}

} // namespace corio
