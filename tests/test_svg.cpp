// SVG figures: well-formed XML (a small checker below), escaped labels, colour scales, hover text, the plots' parts.
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "apps/lib/sweep/stats.h"
#include "apps/lib/visual/svg.h"
#include "tests/text_util.h"

namespace toy::testing {

// Declared in tests/text_util.h, where it is described.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> stack;
  size_t i = 0, roots = 0;
  const size_t n = xml.size();
  auto entity_ok = [&](size_t at) {  // xml[at] == '&'
    size_t semi = xml.find(';', at);
    if (semi == std::string::npos || semi - at > 10) return false;
    std::string e = xml.substr(at + 1, semi - at - 1);
    if (e == "amp" || e == "lt" || e == "gt" || e == "quot" || e == "apos") return true;
    if (e.size() > 1 && e[0] == '#') {
      bool hex = e[1] == 'x';
      if (e.size() == (hex ? 2u : 1u)) return false;
      for (size_t k = hex ? 2 : 1; k < e.size(); ++k)
        if (!(hex ? std::isxdigit(static_cast<unsigned char>(e[k])) : std::isdigit(static_cast<unsigned char>(e[k]))))
          return false;
      return true;
    }
    return false;
  };
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
  };
  while (i < n) {
    if (xml[i] == '&') {
      if (!entity_ok(i)) return "bad entity at offset " + std::to_string(i);
      ++i;
      continue;
    }
    if (xml[i] != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(xml[i])))
        return "text outside the root element at offset " + std::to_string(i);
      ++i;
      continue;
    }
    if (xml.compare(i, 5, "<?xml") == 0) {
      size_t e = xml.find("?>", i);
      if (e == std::string::npos || i != 0) return "bad XML declaration";
      i = e + 2;
      continue;
    }
    if (xml.compare(i, 4, "<!--") == 0) {
      size_t e = xml.find("-->", i);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 3;
      continue;
    }
    const bool closing = i + 1 < n && xml[i + 1] == '/';
    size_t p = i + (closing ? 2 : 1);
    size_t s = p;
    while (p < n && name_char(xml[p])) ++p;
    std::string name = xml.substr(s, p - s);
    if (name.empty()) return "raw '<' at offset " + std::to_string(i);
    if (closing) {
      while (p < n && std::isspace(static_cast<unsigned char>(xml[p]))) ++p;
      if (p >= n || xml[p] != '>') return "bad closing tag </" + name;
      if (stack.empty() || stack.back() != name)
        return "</" + name + "> closes <" + (stack.empty() ? std::string("nothing") : stack.back()) + ">";
      stack.pop_back();
      i = p + 1;
      continue;
    }
    // Attributes.
    bool self_close = false;
    while (true) {
      while (p < n && std::isspace(static_cast<unsigned char>(xml[p]))) ++p;
      if (p >= n) return "unterminated tag <" + name;
      if (xml[p] == '>') break;
      if (xml[p] == '/' && p + 1 < n && xml[p + 1] == '>') {
        self_close = true;
        ++p;
        break;
      }
      size_t a = p;
      while (p < n && name_char(xml[p])) ++p;
      if (p == a) return "bad attribute in <" + name + "> at offset " + std::to_string(p);
      if (p >= n || xml[p] != '=') return "attribute without value in <" + name + ">";
      ++p;
      if (p >= n || (xml[p] != '"' && xml[p] != '\'')) return "unquoted attribute in <" + name + ">";
      char q = xml[p++];
      while (p < n && xml[p] != q) {
        if (xml[p] == '<') return "raw '<' in an attribute of <" + name + ">";
        if (xml[p] == '&' && !entity_ok(p)) return "bad entity in an attribute of <" + name + ">";
        ++p;
      }
      if (p >= n) return "unterminated attribute in <" + name + ">";
      ++p;
    }
    if (stack.empty()) ++roots;
    if (roots > 1) return "more than one root element";
    if (!self_close) stack.push_back(name);
    i = p + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "no root element";
  return "";
}

}  // namespace toy::testing

using toy::testing::count;
using toy::testing::xml_problem;
namespace svg = toy::svg;

TEST_CASE("svg/checker: the XML checker itself rejects broken markup") {
  CHECK(xml_problem("<svg><g><rect/></g></svg>") == "");
  CHECK(xml_problem("<?xml version=\"1.0\"?>\n<svg a=\"1\">x &amp; y &#8594;</svg>\n") == "");
  CHECK(xml_problem("<svg><g></svg>") != "");
  CHECK(xml_problem("<svg><text>a < b</text></svg>") != "");
  CHECK(xml_problem("<svg><text>a & b</text></svg>") != "");
  CHECK(xml_problem("<svg a=1></svg>") != "");
  CHECK(xml_problem("<svg></svg><svg></svg>") != "");
  CHECK(xml_problem("<svg><title>&lt;ST&gt;</title></svg>") == "");
}

TEST_CASE("svg/escape: the five XML special characters") {
  CHECK(svg::escape("<ST> & 'the' \"man\"") == "&lt;ST&gt; &amp; &#39;the&#39; &quot;man&quot;");
  CHECK(svg::escape("caf\u00e9 \u2192") == "caf\u00e9 \u2192");  // UTF-8 passes through
  CHECK(svg::escape(std::string("a\x01" "b")) == "ab");          // XML 1.0 cannot hold control characters
}

TEST_CASE("svg/colors: grey from white (0) to black (1), diverging blue-white-red") {
  CHECK(svg::color(svg::Scale::Grey, 0.0, 0, 1) == "#ffffff");
  CHECK(svg::color(svg::Scale::Grey, 1.0, 0, 1) == "#000000");
  CHECK(svg::color(svg::Scale::Grey, 0.5, 0, 1) == "#808080");
  CHECK(svg::color(svg::Scale::Grey, -3.0, 0, 1) == "#ffffff");  // clamped
  CHECK(svg::color(svg::Scale::Diverging, 0.0, -2, 2) == "#f7f7f7");
  CHECK(svg::color(svg::Scale::Diverging, 2.0, -2, 2) == "#b2182b");
  CHECK(svg::color(svg::Scale::Diverging, -2.0, -2, 2) == "#2166ac");
}

TEST_CASE("svg/heatmap: labels on both axes, a value and hover text per cell, escaped, well-formed") {
  svg::Heatmap h;
  h.title = "attention <sequence 0> & more";
  h.row_labels = {"0 <ST>", "1 man", "2 o'rdrd"};
  h.col_labels = h.row_labels;
  h.values = {1, 0, 0, 0.907f, 0.093f, 0, 0.078f, 0.171f, 0.75f};
  const std::string s = svg::heatmap(h);
  CAPTURE(s);
  CHECK(xml_problem(s) == "");
  CHECK(s.rfind("<?xml", 0) == 0);
  CHECK(s.find("xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(s.find("<ST>") == std::string::npos);  // never raw
  CHECK(count(s, ">0 &lt;ST&gt;</text>") == 2);  // row and column label
  CHECK(s.find("2 o&#39;rdrd") != std::string::npos);
  CHECK(s.find("attention &lt;sequence 0&gt; &amp; more") != std::string::npos);
  CHECK(count(s, "<title>") == 9);
  CHECK(s.find("<title>1 man \u2192 0 &lt;ST&gt;: 0.907</title>") != std::string::npos);
  CHECK(s.find(">0.750</text>") != std::string::npos);
  CHECK(s.find("fill=\"#000000\"") != std::string::npos);  // the 1.000 cell is black
  // Inline (for HTML): no XML declaration, no namespace URL.
  const std::string inl = svg::heatmap(h, svg::Options{false});
  CHECK(xml_problem(inl) == "");
  CHECK(inl.find("http") == std::string::npos);
  CHECK(inl.rfind("<svg", 0) == 0);
  // Several panels in one figure.
  const std::string two = svg::heatmaps({h, h});
  CHECK(xml_problem(two) == "");
  CHECK(count(two, "<title>") == 18);
  h.values.pop_back();
  CHECK_THROWS_WITH(svg::heatmap(h), doctest::Contains("8 values for 3 rows x 3 columns"));
}

TEST_CASE("svg/loss_curve: log-scale axis, LR reductions marked and labelled") {
  svg::LossCurve c;
  c.title = "loss <H=10>";
  for (int e = 0; e < 3000; ++e) {
    c.loss.push_back(2.0f * std::exp(-static_cast<float>(e) / 800.0f) + 0.15f);
    c.lr.push_back(e <= 2000 ? 0.01f : e <= 2010 ? 0.002f : 0.0004f);
  }
  c.reductions = {2000, 2010};
  const std::string s = svg::loss_curve(c);
  CHECK(xml_problem(s) == "");
  CHECK(count(s, "class=\"lr-reduction\"") == 2);
  CHECK(s.find("lr 0.002 \u2192 0.0004") != std::string::npos);  // close reductions share one label
  CHECK(s.find("epoch 2001: ReduceLROnPlateau, lr 0.01 -&gt; 0.002") != std::string::npos);
  CHECK(s.find("loss (log scale)") != std::string::npos);
  CHECK(s.find("loss &lt;H=10&gt;") != std::string::npos);
  CHECK(s.find(">0.1</text>") != std::string::npos);  // the axis spans 0.1 .. 5
  CHECK(s.find(">5</text>") != std::string::npos);
  svg::LossCurve empty;
  CHECK(xml_problem(svg::loss_curve(empty)) == "");
}

TEST_CASE("svg/sweep plots: box + strip per group and rates with intervals") {
  CHECK(toy::quantile({1, 2, 3, 4}, 0.25) == doctest::Approx(1.75));
  CHECK(toy::quantile({4, 1, 3, 2}, 0.5) == doctest::Approx(2.5));
  CHECK(toy::quantile({0.5, 0.1, 0.4, 0.2, 0.3}, 0.75) == doctest::Approx(0.4));
  svg::Distribution d;
  d.title = "final loss per H";
  d.y_label = "final loss";
  d.category_names = {"not solved", "solved"};
  for (int g = 0; g < 3; ++g) {
    svg::Group gr;
    gr.label = "H=" + std::to_string(10 << g);
    for (int i = 0; i < 20; ++i) {
      gr.values.push_back(0.16 + 0.01 * i + 0.001 * g);
      gr.category.push_back(i % 3 != 0);
      gr.hover.push_back("seed " + std::to_string(i) + " <&>");
    }
    d.groups.push_back(gr);
  }
  d.groups.push_back(svg::Group{"empty", {}, {}, {}});
  for (bool log_y : {true, false}) {
    d.log_y = log_y;
    const std::string s = svg::box_strip(d);
    CHECK(xml_problem(s) == "");
    CHECK(count(s, "<circle") == 60 + 2);  // points + the legend
    CHECK(count(s, "class=\"box\"") == 3);
    CHECK(s.find("seed 3 &lt;&amp;&gt;") != std::string::npos);
  }
  svg::RatePlot p;
  p.title = "solved <rate>";
  p.series = {"solved", "stuck"};
  p.groups = {{"H=10", {{78, 100, 0.689, 0.850}, {22, 100, 0.150, 0.311}}}, {"H=20", {{0, 0, 0, 1}, {0, 0, 0, 1}}}};
  const std::string r = svg::rate_plot(p);
  CHECK(xml_problem(r) == "");
  CHECK(r.find(">78</text>") != std::string::npos);
  CHECK(r.find(">n=100</text>") != std::string::npos);
  CHECK(r.find("no runs") != std::string::npos);
  CHECK(r.find("solved &lt;rate&gt;") != std::string::npos);
  CHECK(r.find("H=10: 78/100 solved = 78.0%, 95% interval 68.9% - 85.0%") != std::string::npos);
  CHECK(r.find("H=10: 22/100 stuck = 22.0%") != std::string::npos);
}
