// prodcons-bench — how fast the bounded buffer moves items, and what it costs to be correct:
// the semaphore buffer (fixed) against the condition-variable buffer (fixed-condvar), threads
// against processes, over producer/consumer shapes and capacities, with a pipe between two
// workers as the kernel's baseline for moving the same 8-byte items.
//
// A benchmark prints a table; nothing here is a pass/fail threshold. Every run is still checked:
// a buffer run that is not `correct`, or a pipe that delivers other bytes, stops the benchmark.
#include "fixed.hpp"
#include "prodcons.hpp"
#include "run.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using hazardlab::grouped;
using namespace std::chrono_literals;

constexpr auto kRunDeadline = 120s;

struct Row {
  std::string buffer, form, shape, capacity;
  std::vector<double> rates; // items per second, one per trial
};

double median(std::vector<double> values) {
  std::ranges::sort(values);
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

template <class Form, template <class> class Buffer>
double buffer_rate(const prodcons::Params& params) {
  hazardlab::RunContext context;
  context.form = Form::kind;
  context.workers = params.producers + params.consumers;
  context.timeout = kRunDeadline;
  const auto result = prodcons::run<Form, Buffer<Form>>(params, context);
  if (result.verdict != hazardlab::Verdict::correct)
    throw std::runtime_error(
        fmt::format("a reference buffer was not correct: {} ({})", result.outcome(), result.summary));
  return result.metrics["items_per_s"].template get<double>();
}

// One worker writes the items into a pipe, `batch` items per write(); the other reads them back
// and checks each one. The same code for both forms: the pipe is made before run_workers, so
// threads share its descriptors and forked children inherit them.
template <class Form>
double pipe_rate(std::uint64_t items, std::uint64_t batch) {
  int ends[2];
  if (::pipe(ends) != 0) throw std::runtime_error("pipe() failed");
  auto wrong = hazardlab::place<Form, std::atomic<std::uint64_t>>(0);
  const auto report = hazardlab::run_workers<Form>(
      2, kRunDeadline,
      [read_end = ends[0], write_end = ends[1], items, batch, wrong = wrong.get()](hazardlab::Worker& worker) {
        std::vector<prodcons::Item> buffer(batch);
        if (worker.id() == 0) {
          for (std::uint64_t next = 0; next < items;) {
            const auto n = std::min(batch, items - next);
            for (std::uint64_t i = 0; i < n; ++i)
              buffer[i] = {0, static_cast<std::uint32_t>(next + i)};
            const auto* bytes = reinterpret_cast<const char*>(buffer.data());
            for (std::size_t left = n * sizeof(prodcons::Item); left > 0;) {
              const auto written = ::write(write_end, bytes, left);
              if (written <= 0) throw std::runtime_error("write() to the pipe failed");
              bytes += written;
              left -= static_cast<std::size_t>(written);
            }
            next += n;
          }
          return;
        }
        auto* bytes = reinterpret_cast<char*>(buffer.data());
        std::uint64_t expected = 0;
        std::size_t have = 0; // bytes in the buffer, of at most one batch
        while (expected < items) {
          const auto got = ::read(read_end, bytes + have, batch * sizeof(prodcons::Item) - have);
          if (got <= 0) throw std::runtime_error("read() from the pipe failed");
          have += static_cast<std::size_t>(got);
          const std::size_t whole = have / sizeof(prodcons::Item);
          for (std::size_t i = 0; i < whole; ++i, ++expected)
            if (buffer[i].producer != 0 || buffer[i].sequence != static_cast<std::uint32_t>(expected))
              wrong->fetch_add(1, std::memory_order_relaxed);
          have -= whole * sizeof(prodcons::Item);
          std::copy_n(bytes + whole * sizeof(prodcons::Item), have, bytes);
        }
      });
  ::close(ends[0]);
  ::close(ends[1]);
  if (report.ending != hazardlab::WorkersReport::Ending::finished)
    throw std::runtime_error("the pipe run did not finish: " + report.what);
  if (wrong->load() != 0) throw std::runtime_error(fmt::format("the pipe delivered {} wrong items", wrong->load()));
  return static_cast<double>(items) / (report.elapsed_ms / 1000.0);
}

template <class Form>
void measure_form(std::vector<Row>& rows, std::uint64_t items, int trials, const std::vector<int>& capacities) {
  const std::string form(hazardlab::to_string(Form::kind));
  for (const auto& [producers, consumers] : {std::pair{1, 1}, std::pair{2, 2}, std::pair{4, 4}}) {
    for (const int capacity : capacities) {
      prodcons::Params params;
      params.producers = producers;
      params.consumers = consumers;
      params.capacity = capacity;
      params.items = items;
      const std::string shape = fmt::format("{}/{}", producers, consumers);
      Row semaphores{"semaphores (fixed)", form, shape, std::to_string(capacity), {}};
      Row condvar{"condvar (fixed-condvar)", form, shape, std::to_string(capacity), {}};
      for (int t = 0; t < trials; ++t) {
        // Interleaved, so that a slow moment of the machine does not land on one buffer only.
        semaphores.rates.push_back(buffer_rate<Form, prodcons::Fixed>(params));
        condvar.rates.push_back(buffer_rate<Form, prodcons::FixedCondvar>(params));
      }
      rows.push_back(std::move(semaphores));
      rows.push_back(std::move(condvar));
    }
  }
  for (const std::uint64_t batch : {std::uint64_t{1}, std::uint64_t{512}}) {
    Row pipe{batch == 1 ? "pipe, one item per write" : "pipe, 512 items per write", form, "1/1", "kernel", {}};
    for (int t = 0; t < trials; ++t)
      pipe.rates.push_back(pipe_rate<Form>(items, batch));
    rows.push_back(std::move(pipe));
  }
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Lab 05 benchmark: items per second through the bounded buffers and through a pipe", "prodcons-bench"};
  std::uint64_t items = 100'000; // the table in the handout used --items 200000 (4 minutes here)
  int trials = 3;
  std::vector<int> capacities{1, 16, 256};
  app.add_option("--items", items, "items moved per run")->check(CLI::Range(std::uint64_t{1}, prodcons::kMaxItems));
  app.add_option("--trials", trials, "runs per row; the table shows their median, min and max")
      ->check(CLI::Range(1, 100));
  app.add_option("--capacity", capacities, "ring capacities to try")->check(CLI::Range(1, prodcons::kMaxCapacity));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "prodcons-bench: error: {}\n", e.what());
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);

  std::vector<Row> rows;
  try {
    measure_form<hazardlab::ThreadForm>(rows, items, trials, capacities);
    measure_form<hazardlab::ProcessForm>(rows, items, trials, capacities);
  } catch (const std::exception& e) {
    fmt::print(stderr, "prodcons-bench: {}\n", e.what());
    return 1;
  }

  fmt::print("prodcons-bench · {} cores · {} items per run · median of {} runs (min … max)\n\n",
             ::sysconf(_SC_NPROCESSORS_ONLN), grouped(items), trials);
  fmt::print("{:<26} {:<8} {:>5} {:>9} {:>14}   {}\n", "buffer", "form", "P/C", "capacity", "items/s", "min … max");
  fmt::print("{}\n", std::string(90, '-'));
  for (const auto& row : rows) {
    const auto [low, high] = std::ranges::minmax(row.rates);
    fmt::print("{:<26} {:<8} {:>5} {:>9} {:>14}   {} … {}\n", row.buffer, row.form, row.shape, row.capacity,
               grouped(static_cast<std::uint64_t>(median(row.rates))), grouped(static_cast<std::uint64_t>(low)),
               grouped(static_cast<std::uint64_t>(high)));
  }
  fmt::print("\nThe buffers also account for every item (a counter per item, a witness per slot); the pipe\n"
             "checks each item's number. Natural schedule: rates vary from run to run and machine to machine.\n");
  return 0;
}
