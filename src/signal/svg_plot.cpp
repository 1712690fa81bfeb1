#include "signal/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace torchinit::svg {
namespace {

constexpr double kPanelWidth = 600, kPanelHeight = 420;
constexpr double kLeft = 70, kRight = 190, kTop = 40, kBottom = 50;  // margins inside a panel
constexpr size_t kNoteChars = 28;  // a note line that fits the legend column at font-size 11

std::string escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// A tick step mult x 10^exp with mult 1, 2 or 5. Tick n is n * mult (an exact integer) scaled by
// a power of ten once, so 0.3 prints as 0.3 and not 0.30000000000000004.
struct TickStep {
  double mult = 1;
  int exp = 0;
  double at(double n) const {
    const double m = n * mult;
    return (exp >= 0 ? m * std::pow(10.0, exp) : m / std::pow(10.0, -exp)) + 0.0;  // no -0
  }
  std::string label(double v) const {
    if (std::abs(v) >= 1e7 || exp < -6) return fmt::format("{:g}", v);
    return fmt::format("{:.{}f}", v, std::max(0, -exp));  // as many decimals as the step has
  }
};

// The smallest step 1, 2 or 5 x 10^k at or above both (hi - lo) / intervals and min_step.
TickStep tick_step(double lo, double hi, int intervals, double min_step) {
  double rough = std::max((hi - lo) / std::max(1, intervals), min_step);
  rough = std::clamp(rough, std::numeric_limits<double>::min(), 1e300);
  const int exp = static_cast<int>(std::floor(std::log10(rough)));
  for (const double mult : {1.0, 2.0, 5.0}) {
    const TickStep s{mult, exp};
    if (s.at(1) >= rough) return s;
  }
  return {1, exp + 1};
}

// The axis of [lo, hi]: its ticks and the step that labels them.
struct Axis {
  TickStep step;
  std::vector<double> ticks;
};

Axis axis(double lo, double hi, int intervals, double min_step) {
  if (!(hi > lo)) {  // one value or a flat line: a band around it
    const double half = std::max(0.5, 0.1 * std::abs(lo));
    lo -= half, hi += half;
  }
  Axis a{tick_step(lo, hi, intervals, min_step), {}};
  const double step = a.step.at(1);
  double first = std::floor(lo / step), last = std::ceil(hi / step);
  // Division rounds (by less than a step); settle on the exact multiples around lo and hi.
  for (int i = 0; i < 2; ++i) {
    if (a.step.at(first) > lo) first -= 1;
    if (a.step.at(first + 1) <= lo) first += 1;
    if (a.step.at(last) < hi) last += 1;
    if (a.step.at(last - 1) >= hi) last -= 1;
  }
  for (double n = first; n <= last && a.ticks.size() <= static_cast<size_t>(intervals) + 2; n += 1)
    a.ticks.push_back(a.step.at(n));
  return a;
}

// Words of `text` in lines of at most kNoteChars characters (a longer word gets its own line).
std::vector<std::string> wrap(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find(' ', at), text.size());
    const std::string word = text.substr(at, end - at);
    if (!line.empty() && line.size() + 1 + word.size() > kNoteChars)
      lines.push_back(line), line = "";
    line += (line.empty() ? "" : " ") + word;
    at = end + 1;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// The stroke of a series' line: dashed predictions on top, faint lines between measurements.
std::string stroke(const Series& s, const std::string& color) {
  if (s.dashed)
    return fmt::format("stroke=\"{}\" stroke-width=\"1.8\" stroke-dasharray=\"6,4\"", color);
  if (s.markers)
    return fmt::format("stroke=\"{}\" stroke-width=\"1\" stroke-opacity=\"0.45\"", color);
  return fmt::format("stroke=\"{}\" stroke-width=\"1.6\"", color);
}

std::string marker(double cx, double cy, const std::string& color) {
  return fmt::format(
      "<circle class=\"marker\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"white\" stroke=\"{}\" "
      "stroke-width=\"1.2\"/>",
      cx, cy, color);
}

std::string panel(const Panel& p, double ox) {
  const double w = kPanelWidth - kLeft - kRight, h = kPanelHeight - kTop - kBottom;
  auto shown = [&](double y) {
    return std::isfinite(y) && (!p.log_y || y > 0) && y >= (p.log_y ? p.y_floor : -p.y_ceiling) &&
           y <= p.y_ceiling;
  };
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : p.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!shown(s.y[i]) || !std::isfinite(s.x[i])) continue;
      const double y = p.log_y ? std::log10(s.y[i]) : s.y[i];
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!p.log_y) {  // room so that no point sits on the frame
    const double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
  }
  // Round numbers on both axes; on a log axis, decades at a round step (exponents 1, 2, 5, 10...).
  const Axis xa = axis(x0, x1, 5, 0);
  const Axis ya = p.log_y ? axis(std::floor(y0), std::ceil(y1), 6, 1) : axis(y0, y1, 5, 0);
  x0 = xa.ticks.front(), x1 = xa.ticks.back(), y0 = ya.ticks.front(), y1 = ya.ticks.back();
  auto px = [&](double x) { return ox + kLeft + (x - x0) / (x1 - x0) * w; };
  auto py_axis = [&](double v) { return kTop + h - (v - y0) / (y1 - y0) * h; };
  auto py = [&](double y) { return py_axis(p.log_y ? std::log10(y) : y); };

  std::string out = fmt::format("<g font-family=\"sans-serif\" font-size=\"12\">\n");
  out += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
                     ox + kLeft + w / 2, escape(p.title));
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" stroke=\"black\"/>\n",
      ox + kLeft, kTop, w, h);
  for (const double v : ya.ticks) {
    const double y = py_axis(v);
    out += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n",
                       ox + kLeft, y, ox + kLeft + w, y);
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                       ox + kLeft - 6, y + 4,
                       p.log_y ? fmt::format("1e{}", static_cast<int>(v)) : ya.step.label(v));
  }
  for (const double v : xa.ticks) {
    const double x = px(v);
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#eee\"/>\n",
                       x, kTop, x, kTop + h);
    out +=
        fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                    x, kTop + h + 18, xa.step.label(v));
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     ox + kLeft + w / 2, kTop + h + 40, escape(p.x_label));
  out += fmt::format(
      "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\">{}{}</text>\n",
      ox + 16, kTop + h / 2, escape(p.y_label), p.log_y ? " (log scale)" : "");
  // Series, clipped to the plot area: measurements first, dashed predictions over them.
  const std::string clip = fmt::format("clip{}", static_cast<int>(ox));
  out += fmt::format(
      "<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n", clip,
      ox + kLeft, kTop, w, h);
  for (const bool dashed : {false, true}) {
    for (size_t k = 0; k < p.series.size(); ++k) {
      const Series& s = p.series[k];
      if (s.dashed != dashed) continue;
      const std::string& color = s.color.empty() ? palette(k) : s.color;
      std::string points, markers;
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!shown(s.y[i]) || !std::isfinite(s.x[i])) continue;
        points += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
        if (s.markers) markers += marker(px(s.x[i]), py(s.y[i]), color);
      }
      out += fmt::format(
          "<g clip-path=\"url(#{})\"><polyline fill=\"none\" {} points=\"{}\"/>{}</g>\n", clip,
          stroke(s, color), points, markers);
    }
  }
  // Legend and notes in the right margin.
  const double lx = ox + kLeft + w + 10;
  double ly = kTop + 10;
  out += "<g class=\"legend\">\n";
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    if (!s.legend) continue;
    const std::string& color = s.color.empty() ? palette(k) : s.color;
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>", lx, ly, lx + 22, ly,
                       stroke(s, color));
    if (s.markers) out += marker(lx + 11, ly, color);
    out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 27, ly + 4, escape(s.label));
    ly += 16;
  }
  ly += 6;
  for (const std::string& note : p.notes) {
    for (const std::string& line : wrap(note)) {
      out += fmt::format(
          "<text class=\"note\" x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#b22222\">{}</text>\n",
          lx, ly + 4, escape(line));
      ly += 14;
    }
    ly += 4;
  }
  return out + "</g>\n</g>\n";
}

}  // namespace

const std::string& palette(size_t i) {
  static const std::vector<std::string> colors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                  "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                  "#bcbd22", "#17becf"};
  return colors[i % colors.size()];
}

std::vector<double> nice_ticks(double lo, double hi, int intervals, double min_step) {
  return axis(lo, hi, intervals, min_step).ticks;
}

std::string figure(const std::string& title, const std::vector<Panel>& panels) {
  const double width = kPanelWidth * static_cast<double>(std::max<size_t>(1, panels.size()));
  const double height = kPanelHeight + 30;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"20\" font-family=\"sans-serif\" font-size=\"17\" "
      "text-anchor=\"middle\">{3}</text>\n<g transform=\"translate(0,30)\">\n",
      width, height, width / 2, escape(title));
  for (size_t i = 0; i < panels.size(); ++i)
    out += panel(panels[i], kPanelWidth * static_cast<double>(i));
  return out + "</g>\n</svg>\n";
}

}  // namespace torchinit::svg
