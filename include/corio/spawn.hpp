// SPDX-License-Identifier: MIT
// corio/spawn.hpp: spawn and create_task, which schedule a task on the running loop;
// current_task and all_tasks.
// Layer L4.
#pragma once

#include <corio/event_loop.hpp>
#include <corio/task.hpp>
#include <corio/task_handle.hpp>

#include <string>
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

/// The same as spawn. asyncio: `asyncio.create_task`.
template <class T>
task_handle<T> create_task(task<T> body, std::string name = {}) {
    return spawn(std::move(body), std::move(name));
}

/// The task running now, or an empty handle outside a task. asyncio: `asyncio.current_task()`.
inline task_handle<> current_task() {
    event_loop* loop = detail::running_loop_slot();
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
