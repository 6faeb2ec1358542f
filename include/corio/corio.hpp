// SPDX-License-Identifier: MIT
// corio/corio.hpp: every public header of corio except fmt.hpp.
// Layer L7.
#pragma once

#include <corio/as_completed.hpp>
#include <corio/barrier.hpp>
#include <corio/callback_handle.hpp>
#include <corio/clock.hpp>
#include <corio/condition.hpp>
#include <corio/errors.hpp>
#include <corio/event.hpp>
#include <corio/event_loop.hpp>
#include <corio/exception_context.hpp>
#include <corio/gather.hpp>
#include <corio/lock.hpp>
#include <corio/loop_options.hpp>
#include <corio/net/endpoint.hpp>
#include <corio/net/open_connection.hpp>
#include <corio/net/resolve.hpp>
#include <corio/net/server.hpp>
#include <corio/net/socket_results.hpp>
#include <corio/net/socket_stream.hpp>
#include <corio/net/tcp_stream.hpp>
#include <corio/net/udp_socket.hpp>
#include <corio/net/unix_stream.hpp>
#include <corio/outcome.hpp>
#include <corio/queue.hpp>
#include <corio/race.hpp>
#include <corio/readiness.hpp>
#include <corio/run.hpp>
#include <corio/semaphore.hpp>
#include <corio/shield.hpp>
#include <corio/spawn.hpp>
#include <corio/task.hpp>
#include <corio/task_group.hpp>
#include <corio/task_handle.hpp>
#include <corio/time.hpp>
#include <corio/timeout.hpp>
#include <corio/to_thread.hpp>
#include <corio/unique_fd.hpp>
#include <corio/wait.hpp>
#include <corio/with.hpp>
