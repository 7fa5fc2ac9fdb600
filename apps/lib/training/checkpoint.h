// Training checkpoints as one .npz (written atomically by save_npz): weights, optimizer state, plateau state, RNG
// state, the epoch and the history, so `train --resume` continues bit for bit.
#pragma once
#include <string>

#include "apps/lib/training/train.h"

namespace toy {

// Version 2 (int64 = numpy '<i8', the rest float32):
//   checkpoint/version int64 (1,) = 2       epoch int64 (1,)            weights/<name> for every toy weight
//   optimizer/lr [M] (or () for one model)  optimizer/step int64 ()     optimizer/<weight>/<slot> (momentum, rms, m, v)
//   plateau/best [P], plateau/{wait,cooldown} int64 [P] (P = M, or 0 without the plateau rule)
//   rng/<m> int64 (313,): the shuffling engine's state (std::mt19937_64: 312 words, then the position)
//   history/{loss,lr}/<m> [epoch]   history/reductions/<m> int64
// Version 1 (every array float32, counters included, rng/<m> the character codes of the state's text) is still read.
void save_checkpoint(const std::string& path, const TrainCheckpoint& ck);
// Throws toy::Error "checkpoint PATH: <what>", naming the array, when the file is not a toyformer checkpoint or is
// incomplete or inconsistent: a missing or unexpected array, a count stored as float32 in version 2, a history whose
// length is not `epoch` (loss) or the loss's (lr), reductions outside [0, epoch) or not increasing, a non-finite
// weight, slot, loss or lr, a non-positive lr, a step count that does not fit the epochs, a plateau state that is
// not one per model, slots that differ between weights, an RNG state that does not parse. (Shapes against the
// model, and the settings, are checked on resume by train_models and `train --resume`.) weight_names: the model's
// (ToyModel::weight_names(); the notebook's by default).
TrainCheckpoint load_checkpoint(const std::string& path,
                                const std::vector<std::string>& weight_names = toy_weight_names());

}  // namespace toy
