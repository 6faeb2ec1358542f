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
task_handle<T> spawn(task<T> body) {
    return task_handle<T>(get_running_loop().start_task(std::move(body)));
}

/// The same, named `name` (the default name when empty). Unnamed spawns take the overload
/// above: a spawn that passes no name moves no string.
template <class T>
task_handle<T> spawn(task<T> body, std::string name) {
    return task_handle<T>(get_running_loop().start_task(std::move(body), std::move(name)));
}

namespace detail {

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

// How a stored argument is passed, as std::thread does: moved, or the referent of a
// std::reference_wrapper (std::ref) as an lvalue.
template <class A>
using passed_t = std::
    conditional_t<std::is_same_v<std::unwrap_reference_t<A>, A>, A&&, std::unwrap_reference_t<A>>;

template <class A>
passed_t<A> pass(A& stored) noexcept {
    return static_cast<passed_t<A>>(stored);
}

template <class F, class... Args>
concept task_factory =
    std::invocable<F&, passed_t<Args>...> && is_task_v<std::invoke_result_t<F&, passed_t<Args>...>>;

// The callable and the arguments are parameters of this coroutine, so they live in its frame
// for as long as the task runs: a lambda's captures stay valid. The call is written out, not
// made through std::invoke, so that a temporary a parameter needs (a std::string made from a
// literal for a `const std::string&`) belongs to this full-expression and lives until the
// co_await ends.
template <class F, class... Args>
std::invoke_result_t<F&, passed_t<Args>...> invoke_in_frame(F fn, Args... args) {
    if constexpr (std::is_member_pointer_v<F>)
        co_return co_await std::invoke(fn, pass(args)...);
    else
        co_return co_await fn(pass(args)...);
}

} // namespace detail

/// Schedules `fn(args...)`, a coroutine function returning task<T>, as a task. The callable
/// and copies of the arguments (decayed, as std::thread stores them) are kept in the task's
/// frame, so a capturing lambda is safe: `spawn([&, n]() -> task<> { ... })`. Arguments are
/// passed as rvalues; wrap one in std::ref to pass a reference. Name the task with set_name.
/// Throws: `no_running_loop` outside a running loop.
template <class F, class... Args>
requires detail::task_factory<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(F&& fn, Args&&... args) {
    return spawn(detail::invoke_in_frame<std::decay_t<F>, std::decay_t<Args>...>(
        std::forward<F>(fn), std::forward<Args>(args)...));
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
    detail::loop_core* loop = detail::running_core_slot();
    if (loop == nullptr)
        return {};
    return task_handle<>(detail::task_ref(loop->current_task_state()));
}

/// Every task of the running loop that is not done yet. asyncio: `asyncio.all_tasks()`.
/// Throws: `no_running_loop` outside a running loop.
inline std::vector<task_handle<>> all_tasks() {
    std::vector<task_handle<>> tasks;
    get_running_loop().for_each_task(
        [&](detail::task_state& t) { tasks.emplace_back(detail::task_ref(&t)); });
    return tasks;
}

} // namespace corio
