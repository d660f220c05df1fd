// threads-vs-processes — lab 06: what threads and processes cost, and when each one helps.
//
//   threads-vs-processes [--mode experiment] [--kind cpu,io] [--scaling strong|weak] [--gil|--no-gil]
//   threads-vs-processes --mode spawn [--spawns N]
//   threads-vs-processes --mode pass [--bytes SIZE ...]
//   threads-vs-processes --pool N [--tasks T]            (the same as --mode pool --pool N)
//   ... --json: one JSON object on stdout (the table's rows) instead of the text
//
// A benchmark prints tables; nothing here is a pass/fail threshold. Every run is still checked (the
// work's results, the bytes delivered, the pool's counts), and a wrong one stops the program.
#include "tvp.hpp"

#include "hazardlab/cli.hpp"
#include "hazardlab/logging.hpp"
#include "hazardlab/outcome.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using hazardlab::FormKind;
using Json = nlohmann::ordered_json;
constexpr const char* kName = "threads-vs-processes";

struct Options {
  std::string mode = "experiment";
  std::string form = "both";
  std::vector<std::string> kinds{"cpu", "io"};
  std::string scaling = "strong";
  bool gil_only = false;
  bool no_gil_only = false;
  double switch_interval_ms = 5;
  int max_workers = 0; // 0: 2 × cores
  int workers = 0;     // 0: every count from 1 to --max-workers
  std::uint64_t units = 48;
  std::uint64_t iterations = 2'000'000;
  double io_ms = 5;
  std::size_t file_bytes = 4'096;
  int repeats = 3;
  int spawns = 1'000;
  std::vector<std::uint64_t> bytes;
  int pool = 2;
  std::uint64_t tasks = 100;
  int timeout_ms = 120'000;
  std::string csv;
  bool json = false;
};

// The text report, on stdout; nothing with --json, whose one JSON object stdout is then.
template <class... Args>
void say(const Options& o, fmt::format_string<Args...> format, Args&&... args) {
  if (!o.json) fmt::print(format, std::forward<Args>(args)...);
}

// A number as the CSV writes it (`places` decimals), so that the JSON holds the very same numbers.
double rounded(double value, int places) {
  const double scale = std::pow(10.0, places);
  return std::round(value * scale) / scale;
}

// --json: the mode's rows (each with the CSV's columns, by the CSV's names) and what they were
// measured with, as one object.
void print_json(const Options& o, Json settings, Json rows) {
  Json out = {{"lab", kName}, {"mode", o.mode}, {"form", o.form}};
  out.update(settings);
  out["timeout_ms"] = o.timeout_ms;
  out["rows"] = std::move(rows);
  fmt::print("{}\n", out.dump());
}

// A failure of the run itself (a result that does not check out): exit 1.
struct CheckFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<FormKind> forms_of(const Options& o) {
  if (o.form == "thread") return {FormKind::thread};
  if (o.form == "process") return {FormKind::process};
  return {FormKind::thread, FormKind::process};
}
std::vector<bool> gils_of(const Options& o) {
  if (o.gil_only) return {true};
  if (o.no_gil_only) return {false};
  return {false, true};
}
tvp::Kind kind_of(const std::string& name) {
  return name == "cpu" ? tvp::Kind::cpu : name == "io" ? tvp::Kind::io : tvp::Kind::io_file;
}
const char* on_off(bool gil) { return gil ? "on" : "off"; }

tvp::WorkParams work_params(const Options& o, tvp::Kind kind, bool gil, const tvp::TempFolder* folder) {
  tvp::WorkParams p;
  p.kind = kind;
  p.iterations = o.iterations;
  p.io_wait = std::chrono::microseconds(static_cast<std::int64_t>(o.io_ms * 1000));
  p.file_bytes = o.file_bytes;
  p.folder = folder != nullptr ? folder->path() : std::string();
  p.gil = gil;
  p.switch_interval = std::chrono::microseconds(static_cast<std::int64_t>(o.switch_interval_ms * 1000));
  return p;
}

// Every unit's result, as first computed: each later run (another form, worker count, GIL
// setting) must come to the same.
class References {
public:
  void check(tvp::Kind kind, const std::vector<std::uint64_t>& results, const std::string& run) {
    auto& known = by_kind_[kind];
    for (std::size_t u = 0; u < results.size(); ++u) {
      if (u >= known.size())
        known.push_back(results[u]);
      else if (known[u] != results[u])
        throw CheckFailed(fmt::format("{}: unit {} came to {:#x}, another run to {:#x}", run, u, results[u], known[u]));
    }
  }

private:
  std::map<tvp::Kind, std::vector<std::uint64_t>> by_kind_;
};

std::FILE* open_csv(const std::string& path) {
  if (path.empty()) return nullptr;
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("--csv: cannot write " + path);
  return f;
}
struct CloseFile {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using CsvFile = std::unique_ptr<std::FILE, CloseFile>;

// --- experiment --------------------------------------------------------------------------------

struct Row {
  std::string kind;
  bool gil = false;
  FormKind form = FormKind::thread;
  int workers = 1;
  double wall_ms = 0, speedup = 0, efficiency = 0;
  double cores_used = 0; // the workers' CPU time over the wall time (tvp::cores_used), median of the runs
  std::uint64_t units = 0, gil_switches = 0, checksum = 0;
};

template <class Form>
tvp::ExperimentRun measure(const tvp::WorkParams& p, tvp::Scaling scaling, int workers, const Options& o,
                           const std::optional<int>& chart_workers, bool& chart_begun,
                           const hazardlab::TimelineOptions& timeline, std::vector<double>& walls,
                           std::vector<double>& cores_used) {
  tvp::ExperimentRun last;
  for (int r = 0; r < o.repeats; ++r) {
    if (!chart_begun && chart_workers && workers == *chart_workers && timeline.wanted()) {
      hazardlab::begin_timeline(timeline); // the chart shows this run (the first one recorded)
      chart_begun = true;
      // With --json on stderr, as the chart itself: stdout holds the JSON object only.
      fmt::print(o.json ? stderr : stdout, "the timeline below is of: {} work, GIL {}, {} form, {} workers\n",
                 tvp::kind_name(p.kind), on_off(p.gil), hazardlab::to_string(Form::kind), workers);
    }
    last = tvp::run_experiment<Form>(p, scaling, workers, o.units, std::chrono::milliseconds(o.timeout_ms));
    walls.push_back(last.wall_ms);
    cores_used.push_back(last.cores_used);
  }
  return last;
}

int experiment(const Options& o, const hazardlab::TimelineOptions& timeline, const tvp::TempFolder* folder) {
  const int cores = tvp::cores();
  const int max_workers = o.max_workers > 0 ? o.max_workers : std::min(hazardlab::kMaxWorkers, 2 * cores);
  std::vector<int> counts;
  if (o.workers > 0) {
    counts = o.workers == 1 ? std::vector<int>{1} : std::vector<int>{1, o.workers};
  } else {
    for (int n = 1; n <= max_workers; ++n)
      counts.push_back(n);
  }
  const auto scaling = o.scaling == "weak" ? tvp::Scaling::weak : tvp::Scaling::strong;
  const std::optional<int> chart_workers = counts.back();
  bool chart_begun = false;
  References references;
  std::vector<Row> rows;

  say(o, "threads against processes on {} cores: {} scaling, {} units of work {} (median of {} runs)\n", cores,
      o.scaling, o.units, scaling == tvp::Scaling::strong ? "in all, shared out" : "per worker", o.repeats);
  std::fflush(stdout);
  for (const auto& kind_name : o.kinds) {
    const tvp::Kind kind = kind_of(kind_name);
    for (const bool gil : gils_of(o)) {
      const auto p = work_params(o, kind, gil, folder);
      for (const FormKind form : forms_of(o)) {
        double one_worker_ms = 0;
        for (const int n : counts) {
          std::vector<double> walls, used;
          const auto run =
              form == FormKind::thread
                  ? measure<hazardlab::ThreadForm>(p, scaling, n, o, chart_workers, chart_begun, timeline, walls, used)
                  : measure<hazardlab::ProcessForm>(p, scaling, n, o, chart_workers, chart_begun, timeline, walls,
                                                    used);
          const std::string label = fmt::format("{} work, GIL {}, {} form, {} workers", kind_name, on_off(gil),
                                                hazardlab::to_string(form), n);
          references.check(kind, run.results, label);
          Row row;
          row.kind = kind_name;
          row.gil = gil;
          row.form = form;
          row.workers = n;
          row.wall_ms = tvp::median(walls);
          row.cores_used = tvp::median(used);
          if (n == 1) one_worker_ms = row.wall_ms;
          // Strong: the same work in less time. Weak: n times the work; the speed-up is how much
          // more work per second than one worker did.
          const double work_ratio = scaling == tvp::Scaling::strong ? 1.0 : static_cast<double>(n);
          row.speedup = row.wall_ms > 0 ? work_ratio * one_worker_ms / row.wall_ms : 0;
          row.efficiency = row.speedup / std::min(n, cores);
          row.units = run.results.size();
          row.gil_switches = run.gil_switches;
          for (const auto r : run.results)
            row.checksum += r;
          rows.push_back(row);
          spdlog::info("{}: {:.1f} ms, {:.2f} cores used", label, row.wall_ms, row.cores_used);
        }
      }
    }
  }

  // The table: one block per kind and GIL setting; a row per worker count, the forms side by side.
  for (const auto& kind_name : o.kinds) {
    for (const bool gil : gils_of(o)) {
      say(o, "\n{} work, GIL {}{}\n", kind_name, on_off(gil),
          gil ? fmt::format(" (switch interval {} ms)", o.switch_interval_ms) : "");
      std::string header = fmt::format("{:>8}", "workers");
      for (const FormKind form : forms_of(o))
        header += fmt::format("  | {:>8} {:>9} {:>8} {:>6} {:>10}", hazardlab::to_string(form), "wall ms", "speed-up",
                              "eff.", "cores used");
      say(o, "{}\n", header);
      for (const int n : counts) {
        std::string line = fmt::format("{:>8}", n);
        for (const FormKind form : forms_of(o)) {
          for (const Row& row : rows)
            if (row.kind == kind_name && row.gil == gil && row.form == form && row.workers == n)
              line += fmt::format("  | {:>8} {:>9.1f} {:>7.2f}x {:>5.0f}% {:>10.2f}", "", row.wall_ms, row.speedup,
                                  100 * row.efficiency, row.cores_used);
        }
        say(o, "{}\n", line);
      }
    }
  }
  say(o,
      "\nspeed-up: one worker's wall time over n workers' ({}); efficiency: speed-up / min(workers, {} cores); cores "
      "used: the workers' CPU time over the wall time. Every unit's result was the same in every run.\n",
      scaling == tvp::Scaling::strong ? "the same work" : "times n, for n times the work", cores);

  // Whether other programs kept the workers from the cores: one line for the whole run.
  std::vector<tvp::CoreShare> shares;
  for (const Row& row : rows)
    shares.push_back({fmt::format("{} work, GIL {}, {} form, {} workers", row.kind, on_off(row.gil),
                                  hazardlab::to_string(row.form), row.workers),
                      row.kind == "cpu" && !(row.gil && row.form == FormKind::thread), row.workers, row.cores_used,
                      row.wall_ms});
  const auto warning = tvp::busy_warning(shares, cores);
  if (warning) say(o, "\nwarning: {}\n", *warning);
  if (!o.json) std::fflush(stdout);

  // The CSV's columns, in order (plot.gp and the tests read them by position); cores_used came last.
  CsvFile csv{open_csv(o.csv)};
  if (csv)
    fmt::print(csv.get(),
               "kind,scaling,gil,form,workers,cores,wall_ms,speedup,efficiency,units,iterations,io_ms,gil_switches,"
               "checksum,cores_used\n");
  Json json_rows = Json::array();
  for (const Row& row : rows) {
    if (csv)
      fmt::print(csv.get(), "{},{},{},{},{},{},{:.3f},{:.4f},{:.4f},{},{},{},{},{},{:.4f}\n", row.kind, o.scaling,
                 on_off(row.gil), hazardlab::to_string(row.form), row.workers, cores, row.wall_ms, row.speedup,
                 row.efficiency, row.units, o.iterations, o.io_ms, row.gil_switches, row.checksum, row.cores_used);
    json_rows.push_back({{"kind", row.kind},
                         {"gil", on_off(row.gil)},
                         {"form", hazardlab::to_string(row.form)},
                         {"workers", row.workers},
                         {"wall_ms", rounded(row.wall_ms, 3)},
                         {"speedup", rounded(row.speedup, 4)},
                         {"efficiency", rounded(row.efficiency, 4)},
                         {"cores_used", rounded(row.cores_used, 4)},
                         {"units", row.units},
                         {"gil_switches", row.gil_switches},
                         {"checksum", row.checksum}});
  }
  if (csv && std::fflush(csv.get()) != 0) throw std::runtime_error("--csv: cannot write " + o.csv);
  if (o.json)
    print_json(o,
               {{"scaling", o.scaling},
                {"cores", cores},
                {"units", o.units},
                {"iterations", o.iterations},
                {"io_ms", o.io_ms},
                {"file_bytes", o.file_bytes},
                {"switch_interval_ms", o.switch_interval_ms},
                {"repeats", o.repeats},
                {"warning", warning ? Json(*warning) : Json(nullptr)}},
               std::move(json_rows));
  return hazardlab::kExitCorrect;
}

// --- spawn ---------------------------------------------------------------------------------------

int spawn(const Options& o) {
  say(o, "spawn cost: {} spawns each, microseconds per spawn\n", o.spawns);
  say(o, "{:<28} {:>10} {:>10} {:>10} {:>10}\n", "", "median", "p90", "mean", "min");
  Json rows = Json::array();
  CsvFile csv{open_csv(o.csv)};
  if (csv) fmt::print(csv.get(), "form,what,spawns,median_us,p90_us,mean_us,min_us\n");
  for (const FormKind form : forms_of(o)) {
    const auto us = form == FormKind::thread ? tvp::thread_spawn_costs(o.spawns) : tvp::process_spawn_costs(o.spawns);
    double sum = 0;
    for (const double v : us)
      sum += v;
    const char* what = form == FormKind::thread ? "create + join a thread" : "fork + wait for a process";
    const double med = tvp::median(us), p90 = tvp::quantile(us, 0.9), mean = sum / static_cast<double>(us.size()),
                 low = *std::ranges::min_element(us);
    say(o, "{:<28} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f}\n", what, med, p90, mean, low);
    if (csv)
      fmt::print(csv.get(), "{},{},{},{:.3f},{:.3f},{:.3f},{:.3f}\n", hazardlab::to_string(form), what, o.spawns, med,
                 p90, mean, low);
    rows.push_back({{"form", hazardlab::to_string(form)},
                    {"what", what},
                    {"spawns", o.spawns},
                    {"median_us", rounded(med, 3)},
                    {"p90_us", rounded(p90, 3)},
                    {"mean_us", rounded(mean, 3)},
                    {"min_us", rounded(low, 3)}});
  }
  if (o.json) print_json(o, {{"spawns", o.spawns}}, std::move(rows));
  return hazardlab::kExitCorrect;
}

// --- pass ----------------------------------------------------------------------------------------

std::string size_text(std::uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MB", bytes >> 20);
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

int pass(const Options& o) {
  std::vector<std::uint64_t> sizes = o.bytes;
  if (sizes.empty())
    for (std::uint64_t s = 1024; s <= (64u << 20); s *= 4)
      sizes.push_back(s);
  say(o, "handing a block to another worker: median of {} hand-overs; every byte delivered checked\n", o.repeats);
  say(o, "{:>8} {:>8} {:>7} {:>12} {:>12} {:>9}\n", "size", "form", "path", "latency µs", "p90 µs", "GB/s");
  Json rows = Json::array();
  CsvFile csv{open_csv(o.csv)};
  if (csv) fmt::print(csv.get(), "bytes,form,path,median_us,p90_us,gb_per_s,identical\n");
  std::uint64_t seed = 1;
  for (const auto size : sizes) {
    for (const FormKind form : forms_of(o)) {
      for (const tvp::Path path : {tvp::Path::pipe, tvp::Path::shared}) {
        std::vector<double> us;
        for (int r = 0; r < o.repeats; ++r) {
          const auto timeout = std::chrono::milliseconds(o.timeout_ms);
          const auto result = form == FormKind::thread
                                  ? tvp::pass_block<hazardlab::ThreadForm>(path, size, ++seed, timeout)
                                  : tvp::pass_block<hazardlab::ProcessForm>(path, size, ++seed, timeout);
          if (!result.identical(size))
            throw CheckFailed(fmt::format("{} bytes through {} ({} form): {} bytes arrived, {} of them wrong", size,
                                          tvp::path_name(path), hazardlab::to_string(form), result.received_size,
                                          result.wrong_bytes));
          us.push_back(result.latency_us);
        }
        const double med = tvp::median(us), p90 = tvp::quantile(us, 0.9);
        const double gbps = med > 0 ? static_cast<double>(size) / (med * 1e3) : 0;
        say(o, "{:>8} {:>8} {:>7} {:>12.1f} {:>12.1f} {:>9.2f}\n", size_text(size), hazardlab::to_string(form),
            tvp::path_name(path), med, p90, gbps);
        if (csv)
          fmt::print(csv.get(), "{},{},{},{:.3f},{:.3f},{:.4f},yes\n", size, hazardlab::to_string(form),
                     tvp::path_name(path), med, p90, gbps);
        rows.push_back({{"bytes", size},
                        {"form", hazardlab::to_string(form)},
                        {"path", tvp::path_name(path)},
                        {"median_us", rounded(med, 3)},
                        {"p90_us", rounded(p90, 3)},
                        {"gb_per_s", rounded(gbps, 4)},
                        {"identical", "yes"}});
      }
    }
    if (!o.json) std::fflush(stdout);
  }
  if (o.json) print_json(o, {{"repeats", o.repeats}}, std::move(rows));
  return hazardlab::kExitCorrect;
}

// --- pool ----------------------------------------------------------------------------------------

int pool(const Options& o, const tvp::TempFolder* folder) {
  say(o, "a pool of {} workers runs {} tasks; at most {} at once, the rest queued\n", o.pool, o.tasks, o.pool);
  say(o, "{:>8} {:>4} {:>8} {:>10} {:>10} {:>13} {:>10}\n", "kind", "GIL", "form", "wall ms", "tasks/s", "most at once",
      "ran once");
  Json rows = Json::array();
  CsvFile csv{open_csv(o.csv)};
  if (csv) fmt::print(csv.get(), "kind,gil,form,pool,tasks,wall_ms,tasks_per_s,most_running,ran_once\n");
  References references;
  for (const auto& kind_name : o.kinds) {
    for (const bool gil : gils_of(o)) {
      const auto p = work_params(o, kind_of(kind_name), gil, folder);
      for (const FormKind form : forms_of(o)) {
        const auto timeout = std::chrono::milliseconds(o.timeout_ms);
        const auto run = form == FormKind::thread ? tvp::run_pool<hazardlab::ThreadForm>(p, o.pool, o.tasks, timeout)
                                                  : tvp::run_pool<hazardlab::ProcessForm>(p, o.pool, o.tasks, timeout);
        const std::string label =
            fmt::format("{} pool of {}, {} tasks, GIL {}", hazardlab::to_string(form), o.pool, kind_name, on_off(gil));
        std::uint64_t once = 0;
        for (const auto r : run.runs)
          once += r == 1 ? 1 : 0;
        if (run.most_running > o.pool) throw CheckFailed(fmt::format("{}: {} ran at once", label, run.most_running));
        if (once != o.tasks)
          throw CheckFailed(fmt::format("{}: only {} of {} tasks ran exactly once", label, once, o.tasks));
        references.check(kind_of(kind_name), run.results, label);
        const double per_s = run.wall_ms > 0 ? static_cast<double>(o.tasks) * 1e3 / run.wall_ms : 0;
        say(o, "{:>8} {:>4} {:>8} {:>10.1f} {:>10.0f} {:>13} {:>10}\n", kind_name, on_off(gil),
            hazardlab::to_string(form), run.wall_ms, per_s, run.most_running, fmt::format("{}/{}", once, o.tasks));
        if (csv)
          fmt::print(csv.get(), "{},{},{},{},{},{:.3f},{:.1f},{},{}\n", kind_name, on_off(gil),
                     hazardlab::to_string(form), o.pool, o.tasks, run.wall_ms, per_s, run.most_running, once);
        rows.push_back({{"kind", kind_name},
                        {"gil", on_off(gil)},
                        {"form", hazardlab::to_string(form)},
                        {"pool", o.pool},
                        {"tasks", o.tasks},
                        {"wall_ms", rounded(run.wall_ms, 3)},
                        {"tasks_per_s", rounded(per_s, 1)},
                        {"most_running", run.most_running},
                        {"ran_once", once}});
        if (!o.json) std::fflush(stdout);
      }
    }
  }
  if (o.json)
    print_json(o, {{"pool", o.pool}, {"tasks", o.tasks}, {"iterations", o.iterations}, {"io_ms", o.io_ms}},
               std::move(rows));
  return hazardlab::kExitCorrect;
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  hazardlab::TimelineOptions timeline;
  CLI::App app{"Lab 06, threads against processes: when each one helps, and what each one costs", kName};
  app.option_defaults()->always_capture_default();
  app.add_option("--mode", o.mode,
                 "experiment: speed-up against workers; spawn: what starting a worker costs; pass: handing data "
                 "over; pool: tasks through a bounded pool")
      ->check(CLI::IsMember({"experiment", "spawn", "pass", "pool"}));
  app.add_option("--form", o.form, "thread: std::jthreads in one process; process: fork()ed children; both")
      ->check(CLI::IsMember({"thread", "process", "both"}));
  app.add_option("--kind", o.kinds,
                 "the work: cpu (a computation), io (a blocking wait), io-file (small files written and read back)")
      ->delimiter(',')
      ->check(CLI::IsMember({"cpu", "io", "io-file"}));
  app.add_option("--scaling", o.scaling, "strong: the same work in all, shared out; weak: the same work per worker")
      ->check(CLI::IsMember({"strong", "weak"}));
  auto* gil =
      app.add_flag("--gil", o.gil_only,
                   "only with the emulated GIL (one per process, as in Python); default: both without and with");
  auto* no_gil = app.add_flag("--no-gil", o.no_gil_only, "only without the GIL");
  gil->excludes(no_gil);
  app.add_option("--switch-interval", o.switch_interval_ms,
                 "milliseconds a thread may hold the GIL while another waits (CPython: 5)")
      ->transform(hazardlab::in_range(0.05, 1000.0, "milliseconds"));
  app.add_option("--max-workers", o.max_workers, "the experiment's largest worker count (0: twice the cores)")
      ->transform(hazardlab::in_range(0, hazardlab::kMaxWorkers));
  app.add_option("--workers", o.workers, "the experiment with 1 and this many workers only (0: 1 to --max-workers)")
      ->transform(hazardlab::in_range(0, hazardlab::kMaxWorkers));
  app.add_option("--units", o.units, "units of work: in all (strong scaling) or per worker (weak)")
      ->transform(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{100'000}));
  app.add_option("--iterations", o.iterations, "steps of the computation in one cpu unit")
      ->transform(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{10'000'000'000}));
  app.add_option("--io-ms", o.io_ms, "milliseconds of one io unit's blocking wait")
      ->transform(hazardlab::in_range(0.0, 10'000.0));
  app.add_option("--file-bytes", o.file_bytes, "bytes of each io-file unit's file")
      ->transform(hazardlab::in_range(std::size_t{1}, std::size_t{16} << 20));
  app.add_option("--repeats", o.repeats, "runs of each measurement (the median is shown)")
      ->transform(hazardlab::in_range(1, 100));
  app.add_option("--spawns", o.spawns, "spawn mode: spawns of each form")->transform(hazardlab::in_range(1, 1'000'000));
  app.add_option("--bytes", o.bytes, "pass mode: block sizes, e.g. 1K,64M (default: 1 KB to 64 MB, times 4)")
      ->delimiter(',')
      ->transform(CLI::AsSizeValue(false))
      ->check(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{256} << 20)); // after AsSizeValue
  auto* pool_option = app.add_option("--pool", o.pool, "pool mode (implies --mode pool): the pool's size")
                          ->transform(hazardlab::in_range(1, 64));
  app.add_option("--tasks", o.tasks, "pool mode: tasks to run")
      ->transform(hazardlab::in_range(std::uint64_t{1}, std::uint64_t{1'000'000}));
  app.add_option("--timeout", o.timeout_ms, "watchdog deadline of one run, in milliseconds")
      ->transform(hazardlab::in_range(1, 3'600'000));
  app.add_option("--csv", o.csv, "also write the table to FILE as CSV")->check(hazardlab::writable_file());
  app.add_flag("--json", o.json, "print exactly one JSON object (the table's rows) instead of the text");
  hazardlab::add_timeline_options(app, timeline);

  if (const auto status = hazardlab::parse_command_line(app, argc, argv)) return *status;
  if (pool_option->count() > 0 && app.count("--mode") == 0) o.mode = "pool"; // --pool implies --mode pool
  // Options that mean something in some modes only: refused in the others, so that a student who
  // gives one learns it did nothing.
  const std::vector<std::pair<std::string, std::vector<std::string>>> only_in{
      {"--kind", {"experiment", "pool"}},
      {"--scaling", {"experiment"}},
      {"--gil", {"experiment", "pool"}},
      {"--no-gil", {"experiment", "pool"}},
      {"--switch-interval", {"experiment", "pool"}},
      {"--max-workers", {"experiment"}},
      {"--workers", {"experiment"}},
      {"--units", {"experiment"}},
      {"--iterations", {"experiment", "pool"}},
      {"--io-ms", {"experiment", "pool"}},
      {"--file-bytes", {"experiment", "pool"}},
      {"--repeats", {"experiment", "pass"}},
      {"--spawns", {"spawn"}},
      {"--bytes", {"pass"}},
      {"--pool", {"pool"}},
      {"--tasks", {"pool"}},
      {"--timeline", {"experiment"}},
      {"--trace", {"experiment"}},
  };
  std::vector<hazardlab::AppliesTo> rules;
  for (const auto& [name, modes] : only_in)
    rules.push_back({name, "--mode", modes, {}});
  if (const std::string error = hazardlab::not_applicable(app, rules, [&o](const std::string&) { return o.mode; });
      !error.empty())
    return hazardlab::usage_error(kName, error);
  if (o.workers > 0 && app.count("--max-workers") > 0)
    return hazardlab::usage_error(kName, "--workers: give --workers or --max-workers, not both");

  hazardlab::init_logging(FormKind::thread, spdlog::level::warn);
  try {
    const bool needs_folder = (o.mode == "experiment" || o.mode == "pool") &&
                              std::ranges::find(o.kinds, std::string("io-file")) != o.kinds.end();
    std::optional<tvp::TempFolder> folder;
    if (needs_folder) folder.emplace();
    const tvp::TempFolder* where = folder ? &*folder : nullptr;
    if (o.mode == "spawn") return spawn(o);
    if (o.mode == "pass") return pass(o);
    if (o.mode == "pool") return pool(o, where);
    const int status = experiment(o, timeline, where);
    // After the report; with --json on stderr, so that stdout stays one JSON object.
    if (!hazardlab::end_timeline(timeline, kName, o.json ? stderr : stdout)) return hazardlab::kExitOther;
    return status;
  } catch (const CheckFailed& e) {
    fmt::print(stderr, "{}: a result did not check out: {}\n", kName, e.what());
    return hazardlab::kExitOther;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}\n", kName, e.what());
    return hazardlab::kExitOther;
  }
}
