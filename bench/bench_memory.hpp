// SPDX-License-Identifier: MIT
// The memory figures corio_bench and asio_bench print: the process's peak and current
// resident set, and W2/W3's bytes per task.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <fmt/core.h>
#include <string>
#include <unistd.h>

#include <sys/resource.h>

namespace bench {

inline long peak_rss_kb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

// ru_maxrss never goes down, so a workload's baseline has to be the resident set as it is
// now, which only statm gives.
inline long current_rss_kb() {
    long pages = 0, resident = 0;
    if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        std::fclose(statm);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// The memory a workload's N tasks held at their peak, per task: the process's peak RSS after
// the workload less its RSS before the first task was made. Meaningful when the workload is
// the largest the process has run so far, so the runner gives each its own process.
inline std::string bytes_per_op(long rss_before_kb, std::size_t n) {
    const long grown_kb = std::max(0L, peak_rss_kb() - rss_before_kb);
    return fmt::format(" bytes_per_op={}", grown_kb * 1024 / static_cast<long>(n));
}

} // namespace bench
