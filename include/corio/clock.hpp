// SPDX-License-Identifier: MIT
// corio/clock.hpp: corio::clock, the monotonic clock of every deadline in corio.
// Layer L0.
#pragma once

#include <chrono>

namespace corio {

/// The clock of sleeps, timers and timeouts. asyncio: `loop.time()`'s monotonic clock.
using clock = std::chrono::steady_clock;

namespace detail {

/// `now + duration`, rounded up to the clock's tick, and time_point::max() when the sum would
/// not fit: sleep(hours::max()) must mean "forever", not overflow into the past.
template <class Rep, class Period>
clock::time_point deadline_after(clock::time_point now,
                                 std::chrono::duration<Rep, Period> duration) {
    if (duration <= duration.zero())
        return now;
    // Compared in floating point, which cannot overflow.
    using seconds = std::chrono::duration<double>;
    if (seconds(duration) >= seconds(clock::time_point::max() - now))
        return clock::time_point::max();
    return now + std::chrono::ceil<clock::duration>(duration);
}

/// `now + duration` for a duration of either sign, saturated at the clock's range: a deadline
/// that may lie in the past, as asyncio's `loop.time() + delay` does.
template <class Rep, class Period>
clock::time_point time_after(clock::time_point now, std::chrono::duration<Rep, Period> duration) {
    if (duration >= duration.zero())
        return deadline_after(now, duration);
    using seconds = std::chrono::duration<double>;
    if (seconds(duration) <=
        seconds(clock::time_point::min().time_since_epoch()) - seconds(now.time_since_epoch()))
        return clock::time_point::min();
    return now + std::chrono::floor<clock::duration>(duration);
}

} // namespace detail
} // namespace corio
