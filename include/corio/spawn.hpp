// SPDX-License-Identifier: MIT
// corio/spawn.hpp: spawn and create_task, which schedule a task on the running loop;
// current_task and all_tasks.
// Layer L4.
#pragma once

#include <corio/event_loop.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <concepts>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio {

/// Schedules `body` to run as a task on the running loop and returns its handle. The task
/// starts at the loop's next run of ready tasks, not inside this call.
/// asyncio: `asyncio.create_task(coro, name=name)`; the default name is "Task-N".
/// The loop keeps the task alive when every handle is dropped.
/// Throws: `no_running_loop` outside a running loop; `std::logic_error` for an empty task.
template <class T>
task_handle<T> spawn(task<T> body, std::string name = {}) {
    return task_handle<T>(get_running_loop().start_task(std::move(body), std::move(name)));
}

namespace detail {

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

template <class F, class... Args>
concept task_factory = (std::invocable<F&, Args&...> &&
                        is_task_v<std::invoke_result_t<F&, Args&...>>) ||
                       (std::invocable<F, Args...> && is_task_v<std::invoke_result_t<F, Args...>>);

template <class... P>
struct param_list {};

// The parameter types of a callable with one call signature (a function, a lambda that is
// not generic); `void` when there is no single one.
template <class M>
struct member_signature {
    using params = void;
};
template <class C, class R, class... P>
struct member_signature<R (C::*)(P...)> {
    using params = param_list<P...>;
};
template <class C, class R, class... P>
struct member_signature<R (C::*)(P...) const> : member_signature<R (C::*)(P...)> {};
template <class C, class R, class... P>
struct member_signature<R (C::*)(P...) noexcept> : member_signature<R (C::*)(P...)> {};
template <class C, class R, class... P>
struct member_signature<R (C::*)(P...) const noexcept> : member_signature<R (C::*)(P...)> {};

template <class F>
struct call_signature {
    using params = void;
};
template <class R, class... P>
struct call_signature<R (*)(P...)> {
    using params = param_list<P...>;
};
template <class R, class... P>
struct call_signature<R (*)(P...) noexcept> : call_signature<R (*)(P...)> {};
template <class F>
requires requires {
    &F::operator();
}
struct call_signature<F> : member_signature<decltype(&F::operator())> {};

// The callable and the arguments are parameters of these coroutines, so they live in the
// frame for as long as the task runs: a lambda's captures stay valid. When the callable's
// parameter types are known the arguments are stored as those types, converted once, so a
// `const std::string&` parameter refers to a string in the frame, never to a temporary.
template <class F, class... P>
std::invoke_result_t<F, P...> invoke_with_params(F fn, std::decay_t<P>... args) {
    co_return co_await std::invoke(std::move(fn), std::forward<P>(args)...);
}

template <class F, class... Args>
std::invoke_result_t<F&, Args&...> invoke_with_args(F fn, Args... args) {
    co_return co_await std::invoke(fn, args...);
}

template <class P, std::size_t N>
inline constexpr bool arity_is = false;
template <class... P, std::size_t N>
inline constexpr bool arity_is<param_list<P...>, N> = sizeof...(P) == N;

template <class F, class... Args>
auto invoke_in_frame(F&& fn, Args&&... args) {
    using callable = std::decay_t<F>;
    using params = typename call_signature<callable>::params;
    if constexpr (arity_is<params, sizeof...(Args)>) {
        return [&]<class... P>(param_list<P...>) {
            return invoke_with_params<callable, P...>(std::forward<F>(fn),
                                                      std::forward<Args>(args)...);
        }(params{});
    } else {
        return invoke_with_args<callable, std::decay_t<Args>...>(std::forward<F>(fn),
                                                                 std::forward<Args>(args)...);
    }
}

} // namespace detail

/// Schedules `fn(args...)`, a coroutine function returning task<T>, as a task. The callable
/// and the arguments are kept in the task's frame, so a capturing lambda is safe:
/// `spawn([&, n]() -> task<> { ... })`. When `fn` has a single signature, each argument is
/// stored as its parameter's type (a string literal given to a `const std::string&`
/// parameter becomes a std::string in the frame) and passed as that parameter expects;
/// otherwise (a generic lambda) arguments are stored decayed and passed as lvalues.
/// Name the task with set_name.
/// Throws: `no_running_loop` outside a running loop.
template <class F, class... Args>
requires detail::task_factory<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(F&& fn, Args&&... args) {
    return spawn(detail::invoke_in_frame(std::forward<F>(fn), std::forward<Args>(args)...));
}

/// The same as spawn. asyncio: `asyncio.create_task`.
template <class T>
task_handle<T> create_task(task<T> body, std::string name = {}) {
    return spawn(std::move(body), std::move(name));
}

/// The same as spawn(fn, args...).
template <class F, class... Args>
requires detail::task_factory<std::decay_t<F>, std::decay_t<Args>...>
auto create_task(F&& fn, Args&&... args) {
    return spawn(std::forward<F>(fn), std::forward<Args>(args)...);
}

/// The task running now, or an empty handle outside a task. asyncio: `asyncio.current_task()`.
inline task_handle<> current_task() {
    detail::scheduler* loop = detail::running_scheduler_slot();
    if (loop == nullptr)
        return {};
    return task_handle<>(detail::task_ref<detail::task_state_base>(loop->current_task_state()));
}

/// Every task of the running loop that is not done yet. asyncio: `asyncio.all_tasks()`.
/// Throws: `no_running_loop` outside a running loop.
inline std::vector<task_handle<>> all_tasks() {
    std::vector<task_handle<>> tasks;
    get_running_loop().for_each_task([&](detail::task_state_base& t) {
        tasks.emplace_back(detail::task_ref<detail::task_state_base>(&t));
    });
    return tasks;
}

} // namespace corio
