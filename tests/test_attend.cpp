// `toyformer attend` (apps/lib/tools/attend.h): the notebooks' exercises answered from the problem files in
// examples/attend/ and from embeddings, compared with independent numpy computations (tests/fixtures/notebook004*.json,
// notebook000.json) to 1e-5; the JSON, table and heatmap outputs; and every refusal naming its field.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "apps/lib/tools/attend.h"
#include "core/error.h"
#include "tests/fixture_util.h"

namespace fs = std::filesystem;
using namespace toy;
using namespace toy::app;
using namespace toy::testing;
using nlohmann::json;

namespace {

const std::string kExamples = std::string(TOY_FIXTURES_DIR) + "/../../examples/attend/";

// Every element within 1e-5 of the reference (a float64 computation).
void check_close(const Tensor& got, const json& want, const std::string& what) {
  Tensor w = tensor_from_json(want);
  REQUIRE_MESSAGE(got.numel() == w.numel(), what, ": ", got.shape().str(), " vs ", w.shape().str());
  std::vector<float> g = got.to_vector();
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < w.numel(); ++i)
    if (!(std::abs(static_cast<double>(g[static_cast<size_t>(i)]) - w[i]) <= 1e-5))  // a NaN fails too
      if (bad++ == 0) first = i;
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", w.numel(), " values differ by more than 1e-5; first at ", first);
}

// The same for a JSON output of attend against a fixture.
void check_close_json(const json& got, const json& want, const std::string& what) {
  check_close(tensor_from_json(got), want, what);
}

fs::path scratch() {
  fs::path d = fs::temp_directory_path() / ("toyformer_attend_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::string write(const std::string& name, const std::string& text) {
  fs::path p = scratch() / name;
  std::ofstream(p) << text;
  return p.string();
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string run_text(const AttendCommand& c) {
  std::ostringstream out;
  REQUIRE(run_attend(c, out) == 0);
  return out.str();
}

}  // namespace

// Notebook 004, Question 1: the context vector of h_i_d[1] over the encoder states (the correct one; the notebook
// prints a wrong one, see tests/test_notebook004.cpp).
TEST_CASE("attend/notebook004 q1: scores, weights and context vector") {
  const json fx = load_fixture("notebook004.json").at("q1");
  AttendResult r = attend(read_attend_problem(kExamples + "notebook004_q1.json"));
  CHECK(r.heads == 1);
  CHECK(r.key_labels == std::vector<std::string>{"this", "is", "a", "translation"});
  check_close(r.scores, fx.at("scores"), "scores");
  check_close(r.scaled_scores, fx.at("scaled_scores"), "scaled scores");
  check_close(r.weights, fx.at("attention_weights"), "weights");
  check_close(r.output, fx.at("context_vector_correct"), "context vector");
}

// Question 2: the learned projections, then attention of "is" over the three tokens.
TEST_CASE("attend/notebook004 q2: projections, weights and output") {
  const json fx = load_fixture("notebook004.json").at("q2");
  AttendCommand c;
  c.file = kExamples + "notebook004_q2.json";
  c.json = true;
  const json out = json::parse(run_text(c));
  check_close_json(out.at("q"), fx.at("Q"), "Q");
  check_close_json(out.at("k"), fx.at("K"), "K");
  check_close_json(out.at("v"), fx.at("V"), "V");
  check_close_json(out.at("scores"), fx.at("QKt"), "Q Kt");
  check_close_json(out.at("scaled_scores"), fx.at("QKt_scaled"), "Q Kt / sqrt(n)");
  check_close_json(out.at("weights"), fx.at("attention_weights"), "weights");
  check_close_json(out.at("output"), fx.at("output"), "output");
}

// Question 3: two heads on the column blocks of the projections; the heads' weights, their average, and the
// concatenated output (W_O left out: the notebook gives none).
TEST_CASE("attend/notebook004 q3: two heads") {
  const json fx = load_fixture("notebook004_heads.json");
  AttendResult r = attend(read_attend_problem(kExamples + "notebook004_q3.json"));
  CHECK(r.heads == 2);
  CHECK(r.d_head == 2);
  check_close(r.q, fx.at("Q"), "Q");
  check_close(r.scores, fx.at("scores"), "scores");
  check_close(r.scaled_scores, fx.at("scaled_scores"), "scaled scores");
  check_close(r.weights, fx.at("weights"), "weights");
  check_close(r.average_weights, fx.at("average_weights"), "average weights");
  check_close(r.output, fx.at("output_W_O_identity"), "output");
  CHECK(r.output.shape() == Shape{3, 4});  // Concat(head1, head2): 3 x 4
}

// Notebook 000 on the synthetic vectors: one head over all 64 columns, then 8 heads of 8 columns and their average.
TEST_CASE("attend/notebook000: embeddings, one head and eight") {
  const json fx = load_fixture("notebook000.json");
  const std::string file = std::string(TOY_FIXTURES_DIR) + "/" + fx.at("file").get<std::string>();
  std::string ids;
  for (const json& id : fx.at("ids")) ids += (ids.empty() ? "" : ",") + std::to_string(id.get<int64_t>());
  AttendCommand c;
  c.embeddings = file;
  c.ids = ids;
  c.json = true;
  json one = json::parse(run_text(c));
  check_close_json(one.at("q"), fx.at("embedded"), "embedded sequence");
  check_close_json(one.at("scores"), fx.at("one_head").at("scores"), "scores");
  check_close_json(one.at("scaled_scores"), fx.at("one_head").at("scaled_scores"), "scaled scores");
  check_close_json(one.at("weights"), fx.at("one_head").at("weights"), "weights");
  check_close_json(one.at("output"), fx.at("one_head").at("output"), "output");
  CHECK(one.at("tokens").at("queries") == fx.at("tokens"));
  CHECK(one.at("ids") == fx.at("ids"));

  c.heads = 8;
  json eight = json::parse(run_text(c));
  CHECK(eight.at("d_head") == 8);
  const json& mh = fx.at("multi_head");
  check_close_json(eight.at("scores"), mh.at("scores"), "8 heads: scores");
  check_close_json(eight.at("scaled_scores"), mh.at("scaled_scores"), "8 heads: scaled scores");
  check_close_json(eight.at("weights"), mh.at("weights"), "8 heads: weights");
  check_close_json(eight.at("average_weights"), mh.at("average_weights"), "8 heads: average weights");
  check_close_json(eight.at("output"), mh.at("output"), "8 heads: output");
}

TEST_CASE("attend/output: tables, one JSON object, heatmap") {
  AttendCommand c;
  c.file = kExamples + "notebook004_q3.json";
  c.heatmap = (scratch() / "q3.svg").string();
  const std::string text = run_text(c);
  for (const char* s : {"attention: 2 heads", "scores = Q Kᵀ (head 0: columns 0..1)",
                        "attention weights = softmax(scaled scores) (head 1: columns 2..3)",
                        "average attention weights over the 2 heads", "translation", "heatmap written to"})
    CHECK_MESSAGE(text.find(s) != std::string::npos, "missing: ", s);
  const std::string svg = slurp(c.heatmap);
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("head 1 attention weights") != std::string::npos);
  CHECK(svg.find("average over the 2 heads") != std::string::npos);
  CHECK(svg.find("translation") != std::string::npos);

  c.heatmap.clear();
  c.json = true;
  const std::string js = run_text(c);
  CHECK(std::count(js.begin(), js.end(), '\n') == 1);
  json j = json::parse(js);
  for (const char* k : {"heads", "d_model", "d_head", "scale", "mask", "tokens", "q", "k", "v", "scores",
                        "scaled_scores", "weights", "average_weights", "output"})
    CHECK_MESSAGE(j.contains(k), "missing key ", k);
  CHECK(j.at("weights").size() == 2);
  CHECK(j.at("weights")[0].size() == 3);
  CHECK(j.at("weights")[0][0].size() == 3);
  CHECK(j.at("output").size() == 3);
  CHECK(j.at("output")[0].size() == 4);

  // The causal mask: the upper triangle is zero and row i sums to 1 over keys 0..i.
  const std::string causal = write("causal.json", R"({"queries": [[1, 0], [0, 1], [1, 1]], "keys": [[1, 0], [0, 1],
      [1, 1]], "values": [[1], [2], [3]], "w_o": [[2]], "mask": "causal"})");
  AttendResult r = attend(read_attend_problem(causal));
  std::vector<float> w = r.weights.to_vector();
  CHECK(w[0] == doctest::Approx(1.0));
  CHECK(w[1] == 0.0f);
  CHECK(w[2] == 0.0f);
  CHECK(w[5] == 0.0f);
  CHECK(w[3] + w[4] == doctest::Approx(1.0));
  CHECK(r.output.to_vector()[0] == doctest::Approx(2.0));  // 2 * value of key 0
}

TEST_CASE("attend/errors: every refusal names the field") {
  struct Bad {
    std::string json, says;
  };
  const std::vector<Bad> cases = {
      {R"({"queries": [[1, 2]], "keys": [[1, 2]],)", "malformed JSON"},
      {R"([1, 2])", "the problem must be a JSON object"},
      {R"({"keys": [[1, 2]]})", "queries: missing"},
      {R"({"queries": [[1, 2]]})", "keys: missing"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2], [3]]})", "keys: row 1 has 1 numbers, row 0 has 2 (ragged)"},
      {R"({"queries": [1, 2], "keys": [[1, 2]]})", "queries: must be a non-empty matrix"},
      {R"({"queries": [[1, "x"]], "keys": [[1, 2]]})", "queries[0][1]: \"x\" is not a number"},
      {R"({"queries": [[1, 2]], "keys": [[1, 1e39]]})", "keys[0][1]: 1e+39 is not a finite float32 number"},
      {R"({"queries": [[1, 2]], "keys": [[1, 1e999]]})", "keys[0][1]: 1e999 is not a finite float32 number"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "values": [[1, NaN]]})", "malformed JSON (in values[0][1])"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2, 3]]})", "keys: 3 columns but queries have 2"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "values": [[1], [2]]})", "values: 2 rows but keys have 1"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "w_q": [[1, 2, 3]]})", "w_q: 1 rows but queries have 2 columns"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "w_q": [[1], [2]]})", "w_q: queries are projected to width 1 but"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "w_o": [[1]]})", "w_o: 1 rows but the concatenated heads have 2"},
      {R"({"queries": [[1, 2, 3]], "keys": [[1, 2, 3]], "heads": 2})", "heads: 2 heads do not divide"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "heads": 0})", "heads: must be a positive integer, got 0"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "heads": 1.5})", "heads: must be a positive integer, got 1.5"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "mask": "future"})", "mask: must be \"none\" or \"causal\""},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "tokens": ["a", "b"]})", "tokens: 2 labels but there are 1"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2], [3, 4]], "tokens": ["a", "b"]})", "tokens: one list labels both"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "tokens": {"queries": ["a"]}})", "tokens: needs both"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "tokens": [3]})", "tokens[0]: 3 is not a string"},
      {R"({"queries": [[1, 2]], "keys": [[1, 2]], "head": 2})", "head: unknown field"},
  };
  for (const Bad& b : cases) {
    INFO(b.json);
    const std::string path = write("bad.json", b.json);
    AttendCommand c;
    c.file = path;
    std::ostringstream out;
    CHECK_THROWS_WITH_AS(run_attend(c, out), doctest::Contains(b.says.c_str()), Error);
    CHECK_THROWS_WITH_AS(run_attend(c, out), doctest::Contains(path.c_str()), Error);  // and the file
  }
  const std::string vec = write("vec.txt", "2 2\na 1 0\nb 0 1\n");
  struct BadCmd {
    AttendCommand c;
    std::string says;
  };
  const std::vector<BadCmd> cmds = {
      {{.file = "/nonexistent/problem.json"}, "/nonexistent/problem.json"},
      {{}, "attend: give either a problem FILE.json or --embeddings FILE --ids LIST"},
      {{.file = vec, .embeddings = vec, .ids = "0"}, "(not both)"},
      {{.embeddings = vec}, "--embeddings needs --ids"},
      {{.file = kExamples + "notebook004_q1.json", .ids = "1"}, "--ids needs --embeddings"},
      {{.embeddings = vec, .ids = "0,x"}, "--ids: 'x' is not a non-negative integer"},
      {{.embeddings = vec, .ids = "0,-1"}, "--ids: '-1' is not a non-negative integer"},
      {{.embeddings = vec, .ids = "0,2"}, "--ids: id 2 is out of range: the embeddings have 2 vectors"},
      {{.embeddings = vec, .ids = "0,1", .heads = 3}, "3 heads do not divide"},
      {{.embeddings = write("ragged.txt", "a 1 2\nb 1\n"), .ids = "0"}, "ragged.txt:2: token 'b' has 1 values"},
  };
  for (const BadCmd& b : cmds) {
    INFO(b.says);
    std::ostringstream out;
    CHECK_THROWS_WITH_AS(run_attend(b.c, out), doctest::Contains(b.says.c_str()), Error);
  }
}

// Through the `toyformer` binary: exit codes and one-line errors. Skipped (with a message) while `attend` is not
// registered in apps/main.cpp.
TEST_CASE("cli/attend: exit codes, one-line errors, --json on stdout") {
  const fs::path d = scratch();
  const auto run = [&](const std::string& args, std::string* out, std::string* err) {
    const std::string cmd = std::string(TOY_TOYFORMER_BIN) + " " + args + " >" + (d / "out").string() + " 2>" +
                            (d / "err").string() + " </dev/null";
    const int st = std::system(cmd.c_str());
    *out = slurp(d / "out");
    *err = slurp(d / "err");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  std::string out, err;
  if (run("attend --help", &out, &err) != 0 || out.find("--embeddings") == std::string::npos) {
    MESSAGE("`toyformer attend` is not registered in apps/main.cpp yet: the end-to-end CLI checks are skipped");
    return;
  }
  CHECK(run("attend " + kExamples + "notebook004_q1.json", &out, &err) == 0);
  CHECK(out.find("attention weights = softmax(scaled scores)") != std::string::npos);
  CHECK(run("attend --json " + kExamples + "notebook004_q2.json", &out, &err) == 0);
  CHECK(json::parse(out).at("output").size() == 1);
  const std::string bad = write("cli_bad.json", R"({"queries": [[1, 2]], "keys": [[1, 2], [3]]})");
  CHECK(run("attend " + bad, &out, &err) == 2);
  CHECK(err.find("keys: row 1 has 1 numbers") != std::string::npos);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  CHECK(run("attend --embeddings " + std::string(TOY_FIXTURES_DIR) + "/notebook000_vectors.txt --ids 1,2,x", &out,
            &err) == 2);
  CHECK(err.find("--ids: 'x'") != std::string::npos);
  CHECK(run("attend --heads abc " + kExamples + "notebook004_q1.json", &out, &err) == 2);
}

TEST_CASE("attend/json depth: deeply nested JSON is refused with one error, not a stack overflow") {
  // Balanced ones overflowed the stack (exit 139) when an error message quoted the value; unbalanced ones gave a
  // 400 kB error line naming the path [0][0][0]...
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const std::string& text : {deep, "{\"queries\": " + deep + ", \"keys\": [[1]]}", std::string(100000, '['),
                                  "{\"queries\": " + std::string(100, '[') + "1" + std::string(100, ']') +
                                      ", \"keys\": [[1]]}"}) {
    const std::string path = write("deep.json", text);
    AttendCommand c;
    c.file = path;
    std::ostringstream out;
    CHECK_THROWS_WITH_AS(run_attend(c, out), doctest::Contains("arrays and objects nest deeper than 64 levels"),
                         Error);
    CHECK_THROWS_WITH_AS(run_attend(c, out), doctest::Contains(path.c_str()), Error);
  }
  // Brackets inside strings (escaped quotes included) do not count: this problem is 3 levels deep.
  const std::string ok = write("strings.json", R"({"comment": "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
      "queries": [[1, 0]], "keys": [[1, 0]]})");
  CHECK(attend(read_attend_problem(ok)).weights.to_vector() == std::vector<float>{1.0f});
}

TEST_CASE("attend/softmax: huge finite scores give exact weights, scores beyond float32 are refused") {
  // Scaled scores of 1e30 and 0 (and 1e30 twice): exp(1e30) alone is inf, so a softmax that does not subtract the
  // row's maximum gives NaN here.
  AttendResult r = attend(parse_attend_problem(
      json::parse(R"({"queries": [[1e15], [1e15]], "keys": [[1e15], [0], [-1e15]], "values": [[1], [2], [3]]})")));
  CHECK(r.scaled_scores.to_vector()[0] == doctest::Approx(1e30));
  CHECK(r.weights.to_vector() == std::vector<float>{1, 0, 0, 1, 0, 0});
  CHECK(r.output.to_vector() == std::vector<float>{1, 1});
  AttendResult tie = attend(
      parse_attend_problem(json::parse(R"({"queries": [[1e30]], "keys": [[1], [1], [-1]], "values": [[2], [4], [8]]})")));
  CHECK(tie.weights.to_vector() == std::vector<float>{0.5f, 0.5f, 0});
  CHECK(tie.output.to_vector() == std::vector<float>{3});

  // 1e30 · 1e30 = 1e60 is no float32: one clear error naming the element, not a table of NaN.
  const std::string path = write("overflow.json", R"({"queries": [[1e30]], "keys": [[1e30], [-1e30]]})");
  AttendCommand c;
  c.file = path;
  std::ostringstream out;
  CHECK_THROWS_WITH_AS(run_attend(c, out),
                       doctest::Contains("overflow.json: attend: scores[0,0,0] = inf overflows float32"), Error);
  CHECK(out.str().empty());
}

TEST_CASE("attend/tables: wide tables show their first and last columns, small ones every column") {
  AttendCommand c;
  c.embeddings = std::string(TOY_FIXTURES_DIR) + "/notebook000_vectors.txt";
  c.ids = "61,124,48,92,94,128,45,40,62,64,47,157";
  c.heads = 8;
  const std::string text = run_text(c);
  CHECK(text.find("Q (projected queries) [64 columns, showing 0..5 and 59..63; full values with --json]") !=
        std::string::npos);
  CHECK(text.find("output = weights · V (heads concatenated) [64 columns") != std::string::npos);
  std::istringstream lines(text);
  size_t widest = 0;
  for (std::string l; std::getline(lines, l);) widest = std::max(widest, l.size());
  CHECK(widest < 160);  // was about 700 with every column
  // The 12 x 12 weight tables are not summarized: every key is a column.
  const size_t w = text.find("attention weights = softmax(scaled scores) (head 0: columns 0..7)\n");
  REQUIRE(w != std::string::npos);
  const std::string header = text.substr(w, text.find('\n', text.find('\n', w) + 1) - w);
  CHECK(header.find("\u2026") == std::string::npos);
  // The header of a summarized table: six columns, "…", the last five.
  const size_t q = text.find("Q (projected queries)");
  const std::string qhead = text.substr(text.find('\n', q) + 1, text.find('\n', text.find('\n', q) + 1) -
                                                                     text.find('\n', q) - 1);
  CHECK(qhead.find("5  \u2026  ") != std::string::npos);
  CHECK(qhead.find(" 59  ") != std::string::npos);
  CHECK(qhead.substr(qhead.size() - 3) == " 63");
  CHECK(qhead.find(" 6 ") == std::string::npos);

  AttendCommand small;
  small.file = kExamples + "notebook004_q3.json";
  CHECK(run_text(small).find("columns, showing") == std::string::npos);
  c.json = true;  // --json keeps all 64 columns
  CHECK(json::parse(run_text(c)).at("q")[0].size() == 64);
}
