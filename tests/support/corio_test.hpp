// SPDX-License-Identifier: MIT
// Helpers shared by corio's tests.
#pragma once

#include <corio/corio.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>

namespace corio_test {

using namespace std::chrono_literals;

/// Seconds elapsed since `start`, as a double.
inline double seconds_since(corio::clock::time_point start) {
    return std::chrono::duration<double>(corio::clock::now() - start).count();
}

/// The backend ctest asked for through CORIO_BACKEND.
inline std::string requested_backend() {
    const char* name = std::getenv("CORIO_BACKEND");
    return name ? name : "";
}

/// Every task of the running loop other than the caller: what a test left behind.
inline std::size_t other_live_tasks() {
    return corio::all_tasks().size() - 1;
}

} // namespace corio_test
