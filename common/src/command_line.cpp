// The checks of a command line (cli.hpp): numbers in range, files that can be written, options
// that do not apply, and the parse itself with --help first. Every lab's command line uses them,
// lab_main's and threads-vs-processes' own.
#include "hazardlab/cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace hazardlab {

namespace {

std::string not_a_number(const std::string& text) { return "Value " + text + " is not a number"; }

template <class T>
std::string out_of_range(const std::string& text, T min, T max, const std::string& unit) {
  return fmt::format("Value {} not in range {} to {}{}", text, min, max, unit.empty() ? "" : " (" + unit + ")");
}

template <class T>
std::string description(const std::string& type, T min, T max) {
  return fmt::format("{} in [{} - {}]", type, min, max);
}

// "-12", "12": an optional minus and decimal digits only (no "0x10", no "+1", no spaces).
bool integer_text(const std::string& text) {
  const std::size_t digits = !text.empty() && text[0] == '-' ? 1 : 0;
  return text.size() > digits && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(digits), text.end(),
                                             [](char c) { return c >= '0' && c <= '9'; });
}

// Parses `text` whole into `value`; out of T's range gives std::errc::result_out_of_range.
template <class T>
std::errc parse(const std::string& text, T& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc{} && end != text.data() + text.size()) return std::errc::invalid_argument;
  return error;
}

} // namespace

namespace detail {

CLI::Validator signed_range(std::int64_t min, std::int64_t max, const std::string& type, const std::string& unit) {
  return CLI::Validator(
      [min, max, unit](std::string& text) -> std::string {
        if (!integer_text(text)) return not_a_number(text);
        std::int64_t value = 0;
        if (parse(text, value) != std::errc{} || value < min || value > max) return out_of_range(text, min, max, unit);
        text = std::to_string(value); // what CLI11 converts: plain decimal
        return {};
      },
      description(type, min, max));
}

CLI::Validator unsigned_range(std::uint64_t min, std::uint64_t max, const std::string& type, const std::string& unit) {
  return CLI::Validator(
      [min, max, unit](std::string& text) -> std::string {
        if (!integer_text(text)) return not_a_number(text);
        std::uint64_t value = 0;
        // A minus sign: below any unsigned range (from_chars does not take it).
        if (text[0] == '-' || parse(text, value) != std::errc{} || value < min || value > max)
          return out_of_range(text, min, max, unit);
        text = std::to_string(value);
        return {};
      },
      description(type, min, max));
}

CLI::Validator float_range(double min, double max, const std::string& type, const std::string& unit) {
  return CLI::Validator(
      [min, max, unit](std::string& text) -> std::string {
        double value = 0;
        const std::errc error = parse(text, value);
        if (error == std::errc::invalid_argument) return not_a_number(text);
        if (error == std::errc{} && !std::isfinite(value)) return "Value " + text + " is not a finite number";
        if (error != std::errc{} || value < min || value > max) return out_of_range(text, min, max, unit);
        text = fmt::format("{}", value); // the shortest text that gives the same double
        return {};
      },
      description(type, min, max));
}

} // namespace detail

CLI::Validator writable_file() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        namespace fs = std::filesystem;
        const fs::path path(text);
        const fs::path name = path.filename();
        if (name.empty() || name == "." || name == "..") return "'" + text + "' names no file";
        std::error_code error;
        const fs::file_status status = fs::status(path, error); // through a symbolic link
        if (fs::exists(status)) {
          if (fs::is_directory(status)) return text + " is a folder, not a file";
          // A file nobody may write (/proc/version): refused also for root, whom the kernel would
          // let open it (the write would then fail, after the run).
          if ((status.permissions() & (fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write)) ==
              fs::perms::none)
            return "cannot write " + text + ": it is read-only";
          // Opened to write, not truncated or created: the file is left as it was.
          const int fd = ::open(text.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
          if (fd < 0) return fmt::format("cannot write {}: {}", text, std::strerror(errno));
          ::close(fd);
          return {};
        }
        const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
        if (!fs::is_directory(folder, error)) return "no folder " + folder.string() + " to write it in";
        if ((fs::status(folder, error).permissions() &
             (fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write)) == fs::perms::none)
          return "cannot write in " + folder.string() + ": it is read-only";
        // An unnamed file in the folder, gone when closed: whether a file can be created there,
        // without leaving one behind. Where the file system has no unnamed files, the permission.
        const int fd = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd >= 0) {
          ::close(fd);
          return {};
        }
        const int probe_error = errno;
        if ((probe_error == EOPNOTSUPP || probe_error == EISDIR || probe_error == EINVAL) &&
            ::access(folder.c_str(), W_OK) == 0)
          return {};
        return fmt::format("cannot write in {}: {}", folder.string(), std::strerror(probe_error));
      },
      "FILE");
}

std::string not_applicable(const CLI::App& app, const std::vector<AppliesTo>& rules,
                           const std::function<std::string(const std::string& selector)>& chosen) {
  for (const auto& rule : rules) {
    if (app.count(rule.option) == 0) continue;
    const std::string value = chosen(rule.selector);
    if (std::ranges::find(rule.values, value) != rule.values.end()) continue;
    const std::string why =
        !rule.why.empty() ? rule.why : fmt::format("only to {} {}", rule.selector, fmt::join(rule.values, " or "));
    return fmt::format("{} does not apply to {} {} ({})", rule.option, rule.selector, value, why);
  }
  return {};
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 checks the values before it looks at --help: the help first, whatever else is wrong.
    const bool help_asked = e.get_exit_code() == 0 || app.get_help_ptr()->count() > 0 ||
                            std::any_of(argv + 1, argv + argc, [](const char* arg) {
                              return std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0;
                            });
    if (help_asked) return e.get_exit_code() == 0 ? app.exit(e) : app.exit(CLI::CallForHelp());
    // One line that names the option and what it allows; CLI11's own codes (105...) become 2.
    return usage_error(app.get_name(), e.what());
  }
  return std::nullopt;
}

int usage_error(const std::string& program, const std::string& what) {
  fmt::print(stderr, "{}: error: {}\n", program, what);
  return kExitUsage;
}

} // namespace hazardlab
