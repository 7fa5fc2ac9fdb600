// Pretrained embeddings in word2vec's text format (notebook 000 loads 512-d vectors this way):
//
//   [N D]                  optional header: the number of vectors and their dimension
//   token v_1 ... v_D      one line per vector: a token, then D numbers, separated by spaces or tabs
//
// Blank lines are skipped, a trailing CR is ignored and a UTF-8 byte order mark at the start of the file is dropped.
// The first line is taken as the header when it has exactly two fields and both are non-negative integers (so a
// file of 1-d vectors whose first token is a number needs a header).
// Refused, with "FILE:LINE: ..." naming the place: a row with a different number of values than the first row
// (ragged) or than the header's D, a value that is not a finite float32 number, a token that is not valid UTF-8
// (its bytes shown escaped as \xNN), a token that occurs twice, a header N different from the number of rows, an
// empty file, and a dimension different from the one the caller expects.
// Ids are the rows' positions in the file (0-based, after the header).
#pragma once
#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "layers/layer.h"

namespace toy {

struct Word2Vec {
  std::vector<std::string> tokens;  // row i's token
  Tensor vectors;                   // [N, D]
  int64_t size() const { return vectors.dim(0); }
  int64_t dim() const { return vectors.dim(1); }
  // The row of a token, or -1.
  int64_t find(const std::string& token) const;

  std::unordered_map<std::string, int64_t> index;  // token -> row
};

// Read a word2vec text file. expected_dim > 0: refuse another dimension (naming both).
Word2Vec load_word2vec(const std::string& path, int64_t expected_dim = 0);
// The same from a stream; `source` names it in errors (e.g. the file name).
Word2Vec parse_word2vec(std::istream& in, const std::string& source, int64_t expected_dim = 0);

// An Embedding [N, D] whose table is the file's vectors (trainable, like any Embedding).
std::shared_ptr<Embedding> embedding_from_word2vec(const Word2Vec& w, const std::string& name = "embedding",
                                                   int64_t padding_idx = -1);
// Copy the vectors into an existing Embedding; refuses a table of another shape, naming both.
void load_word2vec_into(Embedding& e, const Word2Vec& w);

}  // namespace toy
