// SPDX-License-Identifier: MIT
// Tutorial 7, blocking vs async: std::this_thread::sleep_for blocks the whole event loop, so
// two "concurrent" tasks take two seconds; corio::sleep lets the loop run the other task.
#include <corio/corio.hpp>

#include <chrono>
#include <fmt/core.h>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

corio::task<> blocking(std::string_view name) {
    fmt::print("{} start\n", name);
    std::this_thread::sleep_for(1s); // holds the loop: nothing else can run meanwhile
    fmt::print("{} end\n", name);
    co_return;
}

corio::task<> cooperative(std::string_view name) {
    fmt::print("{} start\n", name);
    co_await corio::sleep(1s); // the loop runs other tasks meanwhile
    fmt::print("{} end\n", name);
}

template <class Work>
corio::task<double> timed(Work work) {
    auto start = corio::clock::now();
    co_await corio::gather(work("A"), work("B"));
    co_return std::chrono::duration<double>(corio::clock::now() - start).count();
}

corio::task<> main_task() {
    double blocked = co_await timed(blocking);
    fmt::print("blocking sleep: {:.2f} s\n", blocked);
    double async = co_await timed(cooperative);
    fmt::print("async sleep: {:.2f} s\n", async);
}

int main() {
    corio::run(main_task());
}
