// libFuzzer target: the word2vec text reader (layers/word2vec.h: parse_word2vec) from a string stream, then the
// lookups that callers make.
#include <sstream>

#include "layers/word2vec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  toy::fuzz::expect_only_toy_errors([&] {
    std::istringstream in{std::string(toy::fuzz::as_text(data, size))};
    const toy::Word2Vec w = toy::parse_word2vec(in, "fuzz.w2v");
    if (w.tokens.size() != static_cast<size_t>(w.size())) std::abort();
    for (size_t i = 0; i < w.tokens.size(); ++i)
      if (w.find(w.tokens[i]) != static_cast<int64_t>(i)) std::abort();  // tokens are unique: each finds its row
    (void)w.dim();
  });
  return 0;
}
