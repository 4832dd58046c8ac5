// BERT encoder (Hugging Face `BertModel` names, with or without the "bert." prefix).
#pragma once

#include "compressor/model/architecture.h"

namespace compressor::model {

ArchitectureInfo bert_architecture();

}  // namespace compressor::model
