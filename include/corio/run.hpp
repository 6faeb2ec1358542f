// SPDX-License-Identifier: MIT
// corio/run.hpp: run, the entry point of a corio program (asyncio.run).
// Layer L7.
#pragma once

#include <corio/event_loop.hpp>
#include <corio/loop_options.hpp>
#include <corio/task.hpp>

#include <utility>

namespace corio {

/// Creates an event loop, runs `main` as a task until it is done, then cancels every task
/// still alive and runs the loop until they have all finished, closes the loop and returns
/// main's value or rethrows its exception. asyncio: `asyncio.run(main)`.
/// Throws: `invalid_state_error` when called while a loop is running on this thread;
/// `std::system_error` when the requested backend cannot be set up.
template <class T>
T run(task<T> main, run_options options = {}) {
    event_loop loop(options.loop);
    auto state = loop.start_task(std::move(main), {});
    loop.run_until_done(*state);
    loop.cancel_all_and_wait();
    return state->result();
}

} // namespace corio
