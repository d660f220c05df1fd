#pragma once
// Logging for both forms: lines on stderr tagged with the form, the pid and the thread id, so
// that interleaved lines from several processes can be told apart.
//
// spdlog is not fork-safe: loggers here are synchronous (no background thread that fork would
// lose), and each child sets its logger up again after fork. spdlog's own %t caches the thread
// id per thread, and a forked child inherits the parent's cache, so the tag asks the kernel
// each time instead.
#include "hazardlab/forms.hpp"

#include <spdlog/common.h>

#include <string>

namespace hazardlab {

void init_logging(FormKind form, spdlog::level::level_enum level);
// "process pid 4242 tid 4242": the tag every log line carries.
std::string actor_tag();

} // namespace hazardlab
