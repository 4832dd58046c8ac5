#include "compressor/runtime/checkpoint_loader.h"

#include "formats/artifact_manifest.h"

namespace compressor::runtime {

CheckpointLoader CheckpointLoader::open(const std::filesystem::path& dir) {
  // An artifact is checked before anything of it runs: format_version, then every tensor's SHA-256.
  if (formats::has_manifest(dir)) formats::verify_artifact(dir);
  CheckpointLoader ld;
  ld.hf = formats::load_hf_config(dir);
  ld.file = formats::SafetensorsReader::open(dir / "model.safetensors");
  if (ld.hf.raw.contains("quantization_config") && !ld.hf.raw.at("quantization_config").is_null()) {
    ld.quant = formats::parse_quantization_config(ld.hf.raw.at("quantization_config"),
                                                  ld.hf.file.string() + ": quantization_config");
  }
  return ld;
}

}  // namespace compressor::runtime
