// libFuzzer target: the corpus reader (layers/toy_model.h: parse_corpus), then what every corpus must allow: its
// targets, and its JSON form (sweep.json and run.json embed it) written and read back unchanged.
#include "apps/lib/training/run_record.h"
#include "layers/toy_model.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  toy::fuzz::expect_only_toy_errors([&] {
    const toy::ToyCorpus c = toy::parse_corpus(std::string(toy::fuzz::as_text(data, size)), "fuzz.txt");
    for (int64_t s = 0; s < c.size(); ++s)
      for (int64_t t = 0; t < c.seq_len(); ++t) {
        const int64_t y = c.target(s, t);
        if (y < 0 || y >= c.vocab_size()) std::abort();
      }
    const std::string text = toy::corpus_json(c).dump();
    const toy::ToyCorpus back = toy::corpus_from_json(nlohmann::json::parse(text));
    if (back.vocab != c.vocab || back.seqs != c.seqs) std::abort();
  });
  return 0;
}
