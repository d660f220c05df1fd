#include "hazardlab/logging.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

namespace hazardlab {

namespace {

FormKind g_form = FormKind::thread;
spdlog::level::level_enum g_level = spdlog::level::warn;

// %* in the pattern: the form, the pid and the kernel's thread id, asked for on every line.
class ActorFlag final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string tag = actor_tag();
    dest.append(tag.data(), tag.data() + tag.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<ActorFlag>(); }
};

void install_logger() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>(); // synchronous: no thread to lose at fork
  auto logger = std::make_shared<spdlog::logger>("hazardlab", std::move(sink));
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<ActorFlag>('*').set_pattern("[%H:%M:%S.%e] [%^%l%$] [%*] %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(g_level);
  spdlog::set_default_logger(std::move(logger));
}

} // namespace

void init_logging(FormKind form, spdlog::level::level_enum level) {
  g_form = form;
  g_level = level;
  install_logger();
}

std::string actor_tag() { return fmt::format("{} pid {} tid {}", to_string(g_form), ::getpid(), ::gettid()); }

} // namespace hazardlab
