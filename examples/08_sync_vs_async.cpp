// SPDX-License-Identifier: MIT
// Tutorial 8, sync vs async: an async program that must call a blocking API (a synchronous
// client's request). Called directly in a task, it freezes the loop: the ticker misses every
// tick for a second. Called through corio::to_thread, it runs on a pool thread and the ticker
// goes on ticking meanwhile.
#include <corio/corio.hpp>

#include <chrono>
#include <fmt/core.h>
#include <string>
#include <thread>

using namespace std::chrono_literals;

// A synchronous client's request: a plain function that blocks its thread for a second.
std::string blocking_request(std::string prompt) {
    std::this_thread::sleep_for(1s); // waiting for the server
    return "answer to '" + prompt + "'";
}

int ticks = 0;

// Ticks every 100 ms, as long as the loop is free to run it.
corio::task<> ticker() {
    for (;;) {
        co_await corio::sleep(100ms);
        ++ticks;
        fmt::print("tick\n");
    }
}

void report(const std::string& answer, corio::clock::time_point start, int ticks_before) {
    std::chrono::duration<double> elapsed = corio::clock::now() - start;
    fmt::print("{} in {:.2f} s, ticks during the call: {}\n",
               answer,
               elapsed.count(),
               ticks - ticks_before);
}

corio::task<> main_task() {
    corio::task_handle<> ticking = corio::spawn(ticker());
    co_await corio::sleep(350ms);

    fmt::print("blocking_request called directly:\n");
    int ticks_before = ticks;
    auto start = corio::clock::now();
    std::string answer = blocking_request("direct"); // the loop is stuck here for 1 s
    report(answer, start, ticks_before);

    co_await corio::sleep(350ms); // the loop runs again: the overdue tick comes first

    fmt::print("blocking_request through corio::to_thread:\n");
    ticks_before = ticks;
    start = corio::clock::now();
    answer = co_await corio::to_thread(blocking_request, "to_thread"); // the loop runs on
    report(answer, start, ticks_before);

    ticking.cancel();
    fmt::print("A function that awaits must be a coroutine (task<T>). A plain function that "
               "blocks can stay plain: call it through corio::to_thread. A quick plain function "
               "can be called directly.\n");
}

int main() {
    corio::run(main_task());
}
