// SPDX-License-Identifier: MIT
// corio/testing.hpp: run_virtual, run() on a loop whose time is virtual, for tests.
// Layer L7.
#pragma once

#include <corio/event_loop.hpp>
#include <corio/loop_options.hpp>
#include <corio/run.hpp>
#include <corio/task.hpp>

#include <corio/detail/backend/scripted.hpp>
#include <corio/detail/backend/select.hpp>

#include <memory>
#include <ostream>
#include <utility>

namespace corio::testing {

/// Runs `main` as `corio::run` does (without SIGINT handling), on a loop whose clock is
/// virtual: trio's autojump clock, tokio's paused time. The loop's time starts at an
/// unspecified point and stands still while anything is ready or a to_thread call runs;
/// when nothing is, the loop polls I/O once without waiting, then jumps to the next timer.
/// I/O in flight does not hold time. sleep, timeout, wait_for and call_later follow the
/// virtual clock; time points given to sleep_until, timeout_at and call_at are in the
/// loop's time (`loop.time() + d`, not `clock::now() + d`). Sockets and to_thread work.
/// Throws: what `main` throws; `invalid_state_error` listing every task, as dump_tasks
/// does, when every task waits and nothing could wake one (no timer, no running to_thread
/// call, no I/O operation or reader) and a second of real time brings nothing from another
/// thread either.
template <class T>
T run_virtual(task<T> main, loop_options options = {}) {
    auto backend =
        std::make_unique<detail::scripted_backend>(detail::make_backend(options.backend));
    detail::scripted_backend& clock = *backend;
    event_loop loop(std::move(backend), options);
    clock.serve(loop, [&loop](std::ostream& out) { loop.dump_tasks(out); });
    return detail::run_on(loop, std::move(main), false);
}

} // namespace corio::testing
