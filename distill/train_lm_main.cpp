// train_lm: trains a causal LM from scratch on a text file with the byte tokenizer.
// models/kjv-gpt2/make.sh holds the exact command that produced the embedded model.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "calibration/dataset.h"
#include "compressor/tokenizers/tokenizer.h"
#include "compressor/base/error.h"
#include "compressor/model/architecture.h"
#include "compressor/base/atomic_file.h"
#include "distill/lm_trainer.h"
#include "formats/safetensors.h"

using namespace compressor;

int main(int argc, char** argv) {
  CLI::App app{"Train a byte-level causal LM from scratch (deterministic for a given seed and thread count)"};
  std::string config_path, train_path, val_path, out_dir;
  distill::LmTrainOptions o;
  int threads = 2;
  app.add_option("--config", config_path, "HF config.json describing the architecture")->required();
  app.add_option("--train", train_path, "training text")->required();
  app.add_option("--val", val_path, "validation text")->required();
  app.add_option("--out", out_dir, "output checkpoint directory")->required();
  app.add_option("--steps", o.steps, "optimizer steps");
  app.add_option("--batch", o.batch, "sequences per step");
  app.add_option("--seq-len", o.seq_len, "tokens per sequence");
  app.add_option("--lr", o.lr, "peak learning rate");
  app.add_option("--warmup", o.warmup_steps, "linear warm-up steps");
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay on matrices");
  app.add_option("--seed", o.seed, "seed for initialisation and batches");
  app.add_option("--eval-every", o.eval_every, "steps between validation estimates");
  app.add_option("--threads", threads, "intra-op threads (results are bit-identical only for the same count)");
  app.add_option("--checkpoint-every", o.checkpoint_every, "steps between training checkpoints in OUT.training/");
  app.add_flag("--resume", o.resume, "continue from the checkpoint in OUT.training/ (same weights as an uninterrupted run)");
  CLI11_PARSE(app, argc, argv);

  try {
    torch::set_num_threads(threads);
    auto config = model::parse_hf_config(base::read_text_file(config_path, "config"), config_path);
    auto it = model::architectures().find(config.model_type);
    if (it == model::architectures().end()) throw BadInput(config_path, "unknown model_type " + config.model_type);
    auto m = it->second.init(config, o.seed);
    tokenizers::ByteTokenizer tok;
    auto train = calibration::load_text_tokens(train_path, tok, 0, "training text");
    auto val = calibration::load_text_tokens(val_path, tok, 0, "validation text");
    std::printf("train %lld tokens, validation %lld tokens, %lld steps of %lld x %lld\n",
                static_cast<long long>(train.size(0)), static_cast<long long>(val.size(0)),
                static_cast<long long>(o.steps), static_cast<long long>(o.batch), static_cast<long long>(o.seq_len));
    std::filesystem::path out = out_dir;
    if (!out.has_filename()) out = out.parent_path();  // "dir/" and "dir" are one output
    if (o.checkpoint_every > 0 || o.resume) o.checkpoint_dir = out.string() + ".training";
    distill::train_lm(*m, train, val, o, [&](const distill::LmTrainStep& s) {
      if (!std::isnan(s.val_loss) || s.step % 10 == 0) {
        std::printf("step %5lld  lr %.2e  train %.4f  val %s  %.0fs\n", static_cast<long long>(s.step), s.lr,
                    s.train_loss, std::isnan(s.val_loss) ? "-" : std::to_string(s.val_loss).c_str(), s.seconds);
        std::fflush(stdout);
      }
    }, {{"config", config.raw}});
    base::ensure_writable_directory(out_dir, "output");
    std::map<std::string, std::string> meta{{"format", "pt"}};
    formats::write_safetensors(std::filesystem::path(out_dir) / "model.safetensors", m->checkpoint_tensors(), meta);
    base::write_file_atomic(std::filesystem::path(out_dir) / "config.json", config.raw.dump(2) + "\n");
    std::printf("wrote %s\n", out_dir.c_str());
    // The model is written: its checkpoints have nothing left to resume.
    if (!o.checkpoint_dir.empty()) std::filesystem::remove_all(o.checkpoint_dir);
  } catch (const BadInput& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return 4;
  }
  return 0;
}
