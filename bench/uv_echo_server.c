// SPDX-License-Identifier: MIT
// uv_echo_server: the libuv peer of c_echo_server for W4 and W5: one thread, one loop, a 64 KiB
// buffer per connection. What arrives is sent back from that buffer at once (uv_try_write);
// what cannot go at once is queued with uv_write while the connection's reads pause, so no more
// than one buffer is ever in flight per connection (the same back-pressure as c_echo_server).
//
//   uv_echo_server [PORT=0]
//
// Prints "listening on 127.0.0.1:PORT" and serves until SIGINT or SIGTERM.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>

enum { buffer_size = 64 * 1024, backlog = 1024 };

struct connection {
    uv_tcp_t tcp;
    uv_write_t write; // the rest of a short send; only one at a time, as reads pause meanwhile
    char buffer[buffer_size];
};

static uv_tcp_t listener;
static uv_signal_t stop_signals[2];

static void fail(const char* what, int error) {
    fprintf(stderr, "uv_echo_server: %s: %s\n", what, uv_strerror(error));
    exit(1);
}

static void free_connection(uv_handle_t* handle) {
    free(handle->data);
}

static void drop(struct connection* c) {
    // A write cancelled by the close calls back here too, after the close has begun.
    if (!uv_is_closing((uv_handle_t*)&c->tcp))
        uv_close((uv_handle_t*)&c->tcp, free_connection);
}

// Always the same buffer: reads are stopped while any of it waits to be sent.
static void hand_buffer(uv_handle_t* handle, size_t suggested, uv_buf_t* buffer) {
    (void)suggested;
    struct connection* c = handle->data;
    *buffer = uv_buf_init(c->buffer, buffer_size);
}

static void echo(uv_stream_t* stream, ssize_t n, const uv_buf_t* buffer);

static void resume(uv_write_t* write, int status) {
    struct connection* c = write->data;
    if (status < 0 || uv_read_start((uv_stream_t*)&c->tcp, hand_buffer, echo) < 0)
        drop(c);
}

static void echo(uv_stream_t* stream, ssize_t n, const uv_buf_t* buffer) {
    struct connection* c = stream->data;
    (void)buffer; // its len is the buffer's size, not what arrived
    if (n == 0)
        return; // EAGAIN
    if (n < 0) {
        drop(c); // end of stream or error, as c_echo_server: no half-close
        return;
    }
    const uv_buf_t arrived = uv_buf_init(c->buffer, (unsigned)n);
    int sent = uv_try_write(stream, &arrived, 1);
    if (sent == n)
        return;
    if (sent == UV_EAGAIN)
        sent = 0;
    else if (sent < 0) {
        drop(c);
        return;
    }
    uv_read_stop(stream);
    const uv_buf_t rest = uv_buf_init(c->buffer + sent, (unsigned)(n - sent));
    if (uv_write(&c->write, stream, &rest, 1, resume) < 0)
        drop(c);
}

static void accept_connection(uv_stream_t* server, int status) {
    // libuv itself handles EMFILE and ENFILE when it can (it closes a spare descriptor and
    // turns the waiting connections away); what reaches here is worth a line, not an exit.
    if (status < 0) {
        fprintf(stderr, "uv_echo_server: accept: %s\n", uv_strerror(status));
        return;
    }
    struct connection* c = malloc(sizeof *c);
    if (c == NULL)
        fail("accept", UV_ENOMEM);
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    c->write.data = c;
    const int error = uv_accept(server, (uv_stream_t*)&c->tcp);
    if (error < 0) {
        fprintf(stderr, "uv_echo_server: accept: %s\n", uv_strerror(error));
        drop(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1); // 64-byte requests must not wait for Nagle
    if (uv_read_start((uv_stream_t*)&c->tcp, hand_buffer, echo) < 0)
        drop(c);
}

static void close_handle(uv_handle_t* handle, void* unused) {
    (void)unused;
    if (uv_is_closing(handle))
        return;
    uv_close(handle, handle->data != NULL ? free_connection : NULL);
}

// Closing every handle, connections with their pending writes included, lets uv_run return
// with nothing left to free.
static void stop(uv_signal_t* handle, int number) {
    (void)number;
    uv_walk(handle->loop, close_handle, NULL);
}

int main(int argc, char** argv) {
    const int port = argc > 1 ? atoi(argv[1]) : 0;
    // libuv sends with write(2), not send(MSG_NOSIGNAL): a peer gone mid-echo must be an
    // EPIPE for that connection, not the end of the server.
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t* loop = uv_default_loop();

    const int numbers[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; ++i) {
        uv_signal_init(loop, &stop_signals[i]);
        stop_signals[i].data = NULL;
        const int error = uv_signal_start(&stop_signals[i], stop, numbers[i]);
        if (error < 0)
            fail("signal", error);
    }

    // uv_tcp_bind sets SO_REUSEADDR, as c_echo_server does by hand.
    uv_tcp_init(loop, &listener);
    listener.data = NULL;
    struct sockaddr_in address;
    int error = uv_ip4_addr("127.0.0.1", port, &address);
    if (error == 0)
        error = uv_tcp_bind(&listener, (const struct sockaddr*)&address, 0);
    if (error == 0)
        error = uv_listen((uv_stream_t*)&listener, backlog, accept_connection);
    int size = sizeof address;
    if (error == 0)
        error = uv_tcp_getsockname(&listener, (struct sockaddr*)&address, &size);
    if (error < 0)
        fail("listen", error);
    printf("listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
    fflush(stdout);

    uv_run(loop, UV_RUN_DEFAULT);
    error = uv_loop_close(loop);
    if (error < 0)
        fail("uv_loop_close", error);
    uv_library_shutdown();
    return 0;
}
