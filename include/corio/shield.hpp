// SPDX-License-Identifier: MIT
// corio/shield.hpp: shield, which awaits a task without passing the awaiter's cancellation
// on to it.
// Layer L5.
#pragma once

#include <corio/task_handle.hpp>

#include <corio/detail/task_state.hpp>

namespace corio {

/// An awaitable of the task's result that, when the awaiting task is cancelled, throws
/// `cancelled_error` at once and leaves the task running (plain `co_await handle` would
/// cancel it). asyncio: `asyncio.shield(task)`.
/// Throws: `invalid_state_error` for an empty handle.
template <class T>
[[nodiscard]] detail::handle_awaiter<T, true> shield(const task_handle<T>& handle) {
    return detail::handle_awaiter<T, true>(detail::task_ref(&handle.state()));
}

} // namespace corio
