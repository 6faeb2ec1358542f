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
};

struct run_options {
    loop_options loop{};
};

} // namespace corio
