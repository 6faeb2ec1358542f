// SPDX-License-Identifier: MIT
// Tutorial 4, sleep and concurrency: two tasks that each sleep one second, run together with
// gather, take one second in all, not two.
#include <corio/corio.hpp>

#include <chrono>
#include <fmt/core.h>
#include <string_view>

using namespace std::chrono_literals;

corio::task<> work(std::string_view name) {
    fmt::print("{} start\n", name);
    co_await corio::sleep(1s);
    fmt::print("{} end\n", name);
}

corio::task<> main_task() {
    auto start = corio::clock::now();
    co_await corio::gather(work("A"), work("B"));
    std::chrono::duration<double> elapsed = corio::clock::now() - start;
    fmt::print("finished in {:.2f} s\n", elapsed.count());
}

int main() {
    corio::run(main_task());
}
