// SPDX-License-Identifier: MIT
// corio/clock.hpp: corio::clock, the monotonic clock of every deadline in corio.
// Layer L0.
#pragma once

#include <chrono>

namespace corio {

/// The clock of sleeps, timers and timeouts. asyncio: `loop.time()`'s monotonic clock.
using clock = std::chrono::steady_clock;

} // namespace corio
