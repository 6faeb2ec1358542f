// SPDX-License-Identifier: MIT
// Tutorial 3, run: the shape of every corio program. corio::run creates the event loop, runs
// main until it is done, cleans up, and returns main's value.
#include <corio/corio.hpp>

#include <fmt/core.h>

corio::task<int> main_task() {
    fmt::print("hello from the event loop\n");
    co_return 0;
}

int main() {
    return corio::run(main_task());
}
