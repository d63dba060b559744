// Progress reporter for long work (see include/moerge/core/progress.hpp).
#include "moerge/core/progress.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace moerge::progress {

namespace {
constexpr int kBarWidth = 24;
}  // namespace

Options options_for(bool quiet, int rank) {
  Options options;
  options.enabled = !quiet && rank == 0;
  return options;
}

std::string format_bytes(double n_byte) {
  constexpr std::array<const char*, 6> kUnits{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  std::size_t unit_idx = 0;
  while (n_byte >= 1024.0 && unit_idx + 1 < kUnits.size()) {
    n_byte /= 1024.0;
    ++unit_idx;
  }
  if (unit_idx == 0) return fmt::format("{:.0f} B", n_byte);
  return fmt::format("{:.1f} {}", n_byte, kUnits[unit_idx]);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long hours = total / 3600;
  const long long minutes = (total / 60) % 60;
  const long long secs = total % 60;
  if (hours > 0) return fmt::format("{}:{:02}:{:02}", hours, minutes, secs);
  return fmt::format("{}:{:02}", minutes, secs);
}

Progress::Progress(std::string label, std::string unit, std::uint64_t n_unit_total,
                   std::uint64_t n_byte_total, Options options)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      n_unit_total_(n_unit_total),
      n_byte_total_(n_byte_total),
      options_(options),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {
  if (options_.out == nullptr) options_.enabled = false;
  switch (options_.style) {
    case Style::bar:
      bar_ = true;
      break;
    case Style::lines:
      bar_ = false;
      break;
    case Style::automatic:
      bar_ = options_.enabled && ::isatty(::fileno(options_.out)) != 0;
      break;
  }
}

Progress::~Progress() {
  try {
    finish();
  } catch (...) {
    // Printing progress must never throw out of a destructor.
  }
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(std::uint64_t n_unit, std::uint64_t n_byte) {
  n_unit_done_ += n_unit;
  n_byte_done_ += n_byte;
  maybe_print(false);
}

void Progress::finish() {
  if (finished_) return;
  maybe_print(true);
  finished_ = true;
}

std::string Progress::status_line() const {
  const double seconds = elapsed_seconds();
  std::string line = label_ + ":";
  if (n_unit_total_ > 0) {
    const double percent = 100.0 * static_cast<double>(n_unit_done_) / static_cast<double>(n_unit_total_);
    line += fmt::format(" {}/{} {} ({:.0f}%)", n_unit_done_, n_unit_total_, unit_, percent);
  } else {
    line += fmt::format(" {} {}", n_unit_done_, unit_);
  }
  if (n_byte_total_ > 0)
    line += fmt::format(", {}/{}", format_bytes(static_cast<double>(n_byte_done_)),
                        format_bytes(static_cast<double>(n_byte_total_)));
  else if (n_byte_done_ > 0)
    line += fmt::format(", {}", format_bytes(static_cast<double>(n_byte_done_)));
  if (seconds > 0) {
    if (n_byte_done_ > 0)
      line += fmt::format(", {}/s", format_bytes(static_cast<double>(n_byte_done_) / seconds));
    else
      line += fmt::format(", {:.1f} {}/s", static_cast<double>(n_unit_done_) / seconds, unit_);
  }
  // ETA from bytes when their total is known (tensors differ in size), else from units.
  double fraction = -1;
  if (n_byte_total_ > 0)
    fraction = static_cast<double>(n_byte_done_) / static_cast<double>(n_byte_total_);
  else if (n_unit_total_ > 0)
    fraction = static_cast<double>(n_unit_done_) / static_cast<double>(n_unit_total_);
  if (fraction >= 1.0)
    line += fmt::format(", done in {}", format_duration(seconds));
  else if (fraction > 0)
    line += fmt::format(", ETA {}", format_duration(seconds * (1.0 - fraction) / fraction));
  return line;
}

void Progress::maybe_print(bool final) {
  if (!options_.enabled || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!shown_ && now - start_ < options_.delay) return;
  const auto interval = bar_ ? options_.bar_interval : options_.line_interval;
  if (!final && shown_ && now - last_print_ < interval) return;
  // In lines mode the first line waits a whole interval too, so short work stays quiet in logs.
  if (!final && !bar_ && !shown_ && now - start_ < interval) return;
  last_print_ = now;
  if (bar_) {
    double fraction = 0;
    if (n_byte_total_ > 0)
      fraction = static_cast<double>(n_byte_done_) / static_cast<double>(n_byte_total_);
    else if (n_unit_total_ > 0)
      fraction = static_cast<double>(n_unit_done_) / static_cast<double>(n_unit_total_);
    fraction = std::clamp(fraction, 0.0, 1.0);
    const int n_filled = static_cast<int>(fraction * kBarWidth);
    std::string bar(static_cast<std::size_t>(n_filled), '=');
    if (n_filled < kBarWidth) bar += '>';
    bar.resize(kBarWidth, ' ');
    fmt::print(options_.out, "\r[{}] {}\033[K", bar, status_line());
    if (final) fmt::print(options_.out, "\n");
  } else {
    fmt::print(options_.out, "{}\n", status_line());
  }
  std::fflush(options_.out);
  shown_ = true;
}

}  // namespace moerge::progress
