#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>

corio::task<int> answer() {
    co_await corio::sleep(std::chrono::milliseconds(1));
    co_return 42;
}

int main() {
    int got = corio::run(answer());
    std::printf("consumer: got %d\n", got);
    return got == 42 ? 0 : 1;
}
