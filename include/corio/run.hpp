// SPDX-License-Identifier: MIT
// corio/run.hpp: run, the entry point of a corio program (asyncio.run).
// Layer L7.
#pragma once

#include <corio/errors.hpp>
#include <corio/event_loop.hpp>
#include <corio/loop_options.hpp>
#include <corio/task.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/sigint.hpp>

#include <utility>

namespace corio {

namespace detail {

/// run() on a loop made by the caller (corio's tests use a virtual-time one).
template <class T>
T run_on(event_loop& loop, task<T> main, bool handle_sigint) {
    auto state = loop.start_task(std::move(main));
    loop.interrupt_main(state.get());
    sigint_scope sigint(loop, handle_sigint);
    try {
        loop.run_until_done(*state);
    } catch (...) { // stopped early: what is left is cancelled and awaited all the same
        loop.cancel_all_and_wait();
        loop.shutdown_default_executor();
        throw;
    }
    loop.cancel_all_and_wait();
    loop.shutdown_default_executor();
    if (loop.interrupts_handled() > 0 && state->cancelled())
        throw keyboard_interrupt();
    return state->template result<T>();
}

} // namespace detail

/// Creates an event loop, runs `main` as a task until it is done, then cancels every task
/// still alive and runs the loop until they have all finished, waits for the functions
/// to_thread still runs (shutdown_default_executor), closes the loop and returns
/// main's value or rethrows its exception. asyncio: `asyncio.run(main)`.
/// SIGINT while it runs cancels `main`; if main ends cancelled, run throws
/// `keyboard_interrupt`. A second SIGINT cancels every task still alive (asyncio would raise
/// KeyboardInterrupt wherever the program was; C++ cannot throw from a signal handler).
/// Throws: `invalid_state_error` when called while a loop is running on this thread, or
/// when loop.stop() ended main early; `std::system_error` when the requested backend cannot
/// be set up.
template <class T>
T run(task<T> main, run_options options = {}) {
    if (detail::running_core_slot() != nullptr)
        throw invalid_state_error(
            "corio: run() called while an event loop is running in this thread");
    event_loop loop(options.loop);
    return detail::run_on(loop, std::move(main), options.handle_sigint);
}

} // namespace corio
