// word2vec text format (layers/word2vec.h): header or none, into an Embedding, and errors naming file and line.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "core/error.h"
#include "layers/word2vec.h"

using namespace toy;

namespace {

Word2Vec parse(const std::string& text, int64_t dim = 0) {
  std::istringstream in(text);
  return parse_word2vec(in, "vec.txt", dim);
}

}  // namespace

TEST_CASE("word2vec: with and without a header, tabs, CRLF, blank lines") {
  Word2Vec a = parse("3 2\nthe 0.5 -1\nbank 2e-1 3\r\n\nzit\t-0.25\t1.5\n");
  CHECK(a.size() == 3);
  CHECK(a.dim() == 2);
  CHECK(a.tokens == std::vector<std::string>{"the", "bank", "zit"});
  CHECK(a.vectors.to_vector() == std::vector<float>{0.5f, -1.0f, 0.2f, 3.0f, -0.25f, 1.5f});
  CHECK(a.find("bank") == 1);
  CHECK(a.find("nope") == -1);
  Word2Vec b = parse("the 0.5 -1\nbank 0.2 3\n");
  CHECK(b.size() == 2);
  CHECK(b.vectors.to_vector() == std::vector<float>{0.5f, -1.0f, 0.2f, 3.0f});

  // Into an Embedding, and embedding a sequence of ids.
  auto emb = embedding_from_word2vec(a, "w2v");
  CHECK(emb->table().shape() == Shape{3, 2});
  Var e = (*emb)(Var::constant(Tensor::from(Shape{1, 3}, {1, 1, 2})));
  CHECK(e.value().to_vector() == std::vector<float>{0.2f, 3.0f, 0.2f, 3.0f, -0.25f, 1.5f});
  Rng rng(1);
  Embedding wrong("wrong", 3, 4, rng);
  CHECK_THROWS_WITH_AS(load_word2vec_into(wrong, a),
                       doctest::Contains("word2vec: Embedding 'wrong' is (3x4) but the vectors are (3x2)"), Error);
}

TEST_CASE("word2vec: errors name the file and the line") {
  struct Bad {
    std::string text, says;
    int64_t dim = 0;
  };
  const Bad cases[] = {
      {"a 1 2\nb 1\n", "vec.txt:2: token 'b' has 1 values but line 1 has 2 (ragged rows)"},
      {"2 3\na 1 2 3\nb 1 2\n", "vec.txt:3: token 'b' has 2 values but the header (line 1) says dimension 3"},
      {"a 1 2\nb 1 x2\n", "vec.txt:2: value 2 of token 'b' is 'x2', not a finite number"},
      {"a 1 2\nb 1 nan\n", "vec.txt:2: value 2 of token 'b' is 'nan', not a finite number"},
      {"a 1 1e39\n", "vec.txt:1: value 2 of token 'a' is '1e39', not a finite number"},
      {"a 1 2\na 3 4\n", "vec.txt:2: token 'a' occurs twice (first as vector 0)"},
      {"3 2\na 1 2\nb 3 4\n", "vec.txt: the header (line 1) says 3 vectors but the file has 2"},
      {"", "vec.txt: no vectors (empty file)"},
      {"5 2\n", "vec.txt: no vectors after the header"},
      {"a\n", "vec.txt:1: token 'a' has no values"},
      {"a 1 2\n", "vec.txt: vectors have dimension 2, expected 3", 3},
  };
  for (const Bad& c : cases) {
    INFO(c.text);
    CHECK_THROWS_WITH_AS(parse(c.text, c.dim), doctest::Contains(c.says.c_str()), Error);
  }
  CHECK_THROWS_WITH_AS(load_word2vec("/nonexistent/vectors.txt"),
                       doctest::Contains("word2vec: cannot open '/nonexistent/vectors.txt'"), Error);
  const auto path = std::filesystem::temp_directory_path() / ("toy_w2v_" + std::to_string(::getpid()) + ".txt");
  std::ofstream(path) << "a 1 2\nb 1 2 3\n";
  const std::string says = path.string() + ":2: token 'b'";
  CHECK_THROWS_WITH_AS(load_word2vec(path.string()), doctest::Contains(says.c_str()), Error);
  std::filesystem::remove(path);
}

TEST_CASE("word2vec: a UTF-8 byte order mark is dropped, UTF-8 tokens are kept") {
  Word2Vec a = parse("\xEF\xBB\xBF" "2 1\ncaf\xC3\xA9 1\n\xE6\x97\xA5 2\n");  // header after the BOM, é, 日
  CHECK(a.size() == 2);
  CHECK(a.tokens == std::vector<std::string>{"caf\xC3\xA9", "\xE6\x97\xA5"});
  Word2Vec b = parse("\xEF\xBB\xBF" "the 0.5\n");  // no header: the BOM is not part of the first token
  CHECK(b.tokens == std::vector<std::string>{"the"});
  CHECK(b.find("the") == 0);
  // Only at the start of the file: later it is part of a token (and valid UTF-8).
  CHECK(parse("a 1\n\xEF\xBB\xBF" "b 2\n").tokens[1] == "\xEF\xBB\xBF" "b");
}

TEST_CASE("word2vec: a token that is not valid UTF-8 is refused with its line, bytes escaped") {
  struct Bad {
    std::string text, says;
  };
  const Bad cases[] = {
      {"ok 1\nb\xFFz 2\n", "vec.txt:2: token 'b\\xffz' is not valid UTF-8 (byte 2 of the token, 0xff)"},
      {"caf\xE9 1\n", "vec.txt:1: token 'caf\\xe9' is not valid UTF-8 (byte 4"},        // Latin-1 é
      {"a\xC3 1\n", "vec.txt:1: token 'a\\xc3' is not valid UTF-8 (byte 2"},            // truncated sequence
      {"\xC0\xAF 1\n", "vec.txt:1: token '\\xc0\\xaf' is not valid UTF-8 (byte 1"},     // overlong '/'
      {"\xED\xA0\x80 1\n", "vec.txt:1: token '\\xed\\xa0\\x80' is not valid UTF-8"},    // a UTF-16 surrogate
      {"\xF4\x90\x80\x80 1\n", "vec.txt:1: token '\\xf4\\x90\\x80\\x80' is not valid"},  // above U+10FFFF
      {"\x80 1\n", "vec.txt:1: token '\\x80' is not valid UTF-8 (byte 1"},              // stray continuation byte
      {"a 1\nb \xFF\n", "vec.txt:2: value 1 of token 'b' is '\\xff', not a finite number"},
  };
  for (const Bad& c : cases) {
    INFO(c.text);
    CHECK_THROWS_WITH_AS(parse(c.text), doctest::Contains(c.says.c_str()), Error);
  }
  // The largest code point and a 4-byte sequence are fine.
  CHECK(parse("\xF4\x8F\xBF\xBF 1\n\xF0\x9F\x98\x80 2\n").size() == 2);
}
