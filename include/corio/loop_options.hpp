// SPDX-License-Identifier: MIT
// corio/loop_options.hpp: how an event loop is set up (backend), and run's options.
// Layer L0.
#pragma once

namespace corio {

/// The kernel interface an event loop waits on.
enum class backend {
    automatic, ///< the best one that works here; `CORIO_BACKEND=epoll|io_uring` overrides it
    epoll,
    io_uring,
};

struct loop_options {
    corio::backend backend = corio::backend::automatic;
    /// Report task steps and callbacks that hold the loop longer than its
    /// slow_callback_duration (100 ms). `CORIO_DEBUG=1` turns it on too.
    bool debug = false;
};

struct run_options {
    loop_options loop{};
    /// While run() runs, SIGINT cancels the main task and run() throws keyboard_interrupt.
    /// Only where SIGINT has its default disposition and only on the main thread, as asyncio;
    /// the disposition is restored afterwards. False leaves SIGINT alone.
    bool handle_sigint = true;
};

} // namespace corio
