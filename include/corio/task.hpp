// SPDX-License-Identifier: MIT
// corio/task.hpp: task<T>, the lazy coroutine type, awaited inline by another coroutine.
// Layer L2. Knows nothing of the event loop: any resumer can drive a task.
#pragma once

#include <corio/detail/call_site.hpp>
#include <corio/detail/frame_cache.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace corio {

template <class T>
class task;

namespace detail {

// How the awaiting coroutine and the task met, so final_suspend knows whether to resume it.
// Two bits, kept in a pointer's low bits (see promise_base).
enum class start_phase : std::uint8_t {
    idle,            // not started, or started by a resumer that is not a task awaiter
    inline_start,    // its awaiter is running it from inside await_suspend
    finished_inline, // it ended while its awaiter was still inside await_suspend
    detached,        // it suspended; its awaiter suspended too and waits to be resumed
};

// The first parameter of the promise constructors: the compiler first tries to build the
// promise from the coroutine's own arguments, and no argument converts to this.
class site_tag {
public:
    explicit site_tag() = default;
};

// Where a frame's promise begins: after its resume and destroy pointers (g++ and clang), as
// every promise of a task is aligned to no more than those (task<T> checks its T).
inline constexpr std::size_t promise_offset = 2 * sizeof(void*);

class promise_base {
public:
    // Frames come from the thread's frame cache: a loop of short awaits reuses one block.
    static void* operator new(std::size_t size) { return frame_cache::allocate(size); }
    static void operator delete(void* frame, std::size_t size) noexcept {
        frame_cache::deallocate(frame, size);
    }

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }

        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            promise_base& p = self.promise();
            if (p.phase() == start_phase::inline_start) {
                // WORKAROUND(gcc-12, libcoro#273): symmetric transfer is no tail call at -O0,
                // -O1 or under ASan, so a loop of synchronous completions would nest one
                // resume per iteration. Returning to the awaiter's await_suspend instead
                // keeps the stack flat.
                p.set_phase(start_phase::finished_inline);
                return std::noop_coroutine();
            }
            if (const std::coroutine_handle<> next = p.continuation())
                return next;
            return std::noop_coroutine();
        }

        void await_resume() noexcept {}
    };

    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    [[nodiscard]] const std::exception_ptr& exception() const noexcept { return exception_; }
    /// For the loop, which ends a spawned task with the outcome its state decides on.
    void set_exception(const std::exception_ptr& e) noexcept { exception_ = e; }

    // Runs the task from inside its awaiter's await_suspend. Returns true when the awaiter
    // must suspend (the task suspended), false when the task already finished.
    bool start_inline(std::coroutine_handle<> self, std::coroutine_handle<> awaiter) {
        continuation_and_phase_ = reinterpret_cast<std::uintptr_t>(awaiter.address()) |
                                  static_cast<std::uintptr_t>(start_phase::inline_start);
        self.resume();
        if (phase() == start_phase::finished_inline)
            return false;
        set_phase(start_phase::detached);
        return true;
    }

    [[nodiscard]] bool started() const noexcept { return phase() != start_phase::idle; }

    [[nodiscard]] const call_site& site() const noexcept { return site_; }

    /// The task this coroutine is awaiting inline, once that task has suspended: the next link
    /// of the chain dump_tasks prints for a suspended task.
    [[nodiscard]] const promise_base* inner() const noexcept { return inner_; }
    void set_inner(const promise_base* inner) noexcept { inner_ = inner; }

protected:
    explicit promise_base(const call_site& site) noexcept : site_(site) {}

    void rethrow_if_failed() const {
        if (exception_)
            std::rethrow_exception(exception_);
    }

private:
    // The phase lives in the low bits of the awaiting frame's address, which is aligned at
    // least as the resume function's address that begins it: every frame holds a promise,
    // and W2's frames are counted by the byte. Both are set by one store when a task starts.
    static constexpr std::uintptr_t phase_mask = 3;

    [[nodiscard]] start_phase phase() const noexcept {
        return static_cast<start_phase>(continuation_and_phase_ & phase_mask);
    }
    void set_phase(start_phase phase) noexcept {
        continuation_and_phase_ =
            (continuation_and_phase_ & ~phase_mask) | static_cast<std::uintptr_t>(phase);
    }
    [[nodiscard]] std::coroutine_handle<> continuation() const noexcept {
        return std::coroutine_handle<>::from_address(
            reinterpret_cast<void*>(continuation_and_phase_ & ~phase_mask));
    }

    std::uintptr_t continuation_and_phase_ = static_cast<std::uintptr_t>(start_phase::idle);
    std::exception_ptr exception_;
    const promise_base* inner_ = nullptr;
    call_site site_;
};

// The default arguments name the coroutine function whose promise this is.
#define CORIO_PROMISE_CONSTRUCTOR                                                                  \
    promise(site_tag = site_tag{}, CORIO_CALL_SITE_PARAMETERS) noexcept                            \
        : promise_base(call_site(CORIO_CALL_SITE_ARGUMENTS)) {}

template <class T>
class promise final : public promise_base {
public:
    CORIO_PROMISE_CONSTRUCTOR
    task<T> get_return_object() noexcept;

    template <class U = T>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value_.emplace(std::forward<U>(value));
    }

    T& result() & {
        rethrow_if_failed();
        return *value_;
    }

    T&& result() && {
        rethrow_if_failed();
        return std::move(*value_);
    }

private:
    std::optional<T> value_;
};

template <>
class promise<void> final : public promise_base {
public:
    CORIO_PROMISE_CONSTRUCTOR
    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void result() const { rethrow_if_failed(); }
};

#undef CORIO_PROMISE_CONSTRUCTOR

} // namespace detail

/// A lazy coroutine returning `T`. Calling a coroutine function that returns a task runs
/// nothing; `co_await`ing the task runs it inline in the awaiting coroutine and yields its
/// value or rethrows its exception. asyncio: a coroutine object.
/// Differences: move-only; destroying a task that never ran destroys its frame unrun; a `T`
/// aligned beyond 16 bytes is rejected at compile time (the frame is only 16-aligned).
/// Stack safety: a loop of any number of synchronously completing `co_await`s runs in constant
/// stack, with or without the compiler's tail calls.
template <class T = void>
class [[nodiscard]] task {
public:
    static_assert(!std::is_reference_v<T>, "corio::task<T&> is not supported; return a pointer");
    static_assert(alignof(detail::promise<T>) <= detail::promise_offset,
                  "corio::task<T>: a T aligned beyond 16 bytes is not supported (g++ allocates "
                  "the coroutine frame only 16-aligned); return it in a std::unique_ptr");
    using promise_type = detail::promise<T>;
    using value_type = T;

    task() noexcept = default;
    task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { destroy(); }

    /// True when the coroutine has run to its end (value or exception).
    [[nodiscard]] bool done() const noexcept { return handle_ && handle_.done(); }

    /// True when the task holds a coroutine (false after a move).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

    auto operator co_await() & noexcept { return awaiter<false>{handle_}; }
    auto operator co_await() && noexcept { return awaiter<true>{handle_}; }

    /// The coroutine frame; for the loop, which runs a spawned task as a root.
    [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }

    /// Gives up the frame, leaving the task empty; for the loop, which owns a spawned frame.
    [[nodiscard]] std::coroutine_handle<promise_type> release() noexcept {
        return std::exchange(handle_, {});
    }

private:
    friend promise_type;
    explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

    template <bool Move>
    struct awaiter {
        std::coroutine_handle<promise_type> handle;
        // The awaiting task's promise, once the awaited one suspended: only then is the chain
        // dump_tasks prints linked, as dump_tasks only prints a suspended task's chain. A task
        // that finishes inline, the common case, links nothing: W1's awaits went 11.0 -> 8.9 ns.
        detail::promise_base* awaiting = nullptr;

        bool await_ready() const {
            if (!handle)
                throw std::logic_error("corio: co_await on an empty task (moved from?)");
            if (handle.done())
                return true;
            if (handle.promise().started())
                throw std::logic_error("corio: co_await on a task that is already running");
            return false;
        }

        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> outer) {
            if (!handle.promise().start_inline(handle, outer))
                return false;
            if constexpr (std::is_base_of_v<detail::promise_base, Promise>) {
                awaiting = &outer.promise();
                awaiting->set_inner(&handle.promise());
            }
            return true;
        }

        // An rvalue task hands its value over; an lvalue task lends it.
        std::conditional_t<Move, T, std::add_lvalue_reference_t<T>> await_resume() {
            if (awaiting)
                awaiting->set_inner(nullptr);
            if constexpr (Move)
                return std::move(handle.promise()).result();
            else
                return handle.promise().result();
        }
    };

    void destroy() noexcept {
        if (handle_)
            handle_.destroy();
    }

    std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
task<T> promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<promise<T>>::from_promise(*this)};
}

inline task<void> promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<promise<void>>::from_promise(*this)};
}

// Out of line, so that the check on every spawn is two tests and no string building.
[[noreturn, gnu::cold]] inline void throw_unstartable(const char* use, const char* why) {
    throw std::logic_error(std::string("corio: ") + use + why);
}

/// Throws `std::logic_error` when `t` cannot be started as a task of its own: empty, or
/// already awaited. `use` names the caller ("spawn", "gather") in the message.
template <class T>
void check_unstarted(const task<T>& t, const char* use) {
    if (!t.valid())
        throw_unstartable(use, " of an empty task (moved from?)");
    if (t.handle().promise().started())
        throw_unstartable(use, " of a task that has already been awaited");
}

} // namespace detail
} // namespace corio
