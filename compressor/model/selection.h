// Which slots a pass works on. Entries of `targets` and `ignore`:
//   "Linear"        every linear layer: the blocks' matmuls and an untied lm_head (not embeddings,
//                   a tied head, or norms), as llm-compressor's "Linear"
//   a role name     "attn_qkv", "mlp_up", ... (see tensor_role.h)
//   "re:<regex>"    ECMAScript regex matched like Python's re.match: from the start of the slot
//                   name, not necessarily to its end
//   anything else   an exact slot name (a trailing ".weight" is accepted)
#pragma once

#include <string>
#include <vector>

#include "compressor/model/model.h"

namespace compressor::model {

// Slots matched by any target and by no ignore entry, in model order. A target that matches no
// slot, or an invalid regex, is BadInput naming `where` (the recipe location) and the entry; an
// ignore entry that matches nothing is a warning naming it.
std::vector<LinearSlot*> select_slots(Model& model, const std::vector<std::string>& targets,
                                      const std::vector<std::string>& ignore, const std::string& where);

bool slot_matches(const LinearSlot& slot, const std::string& entry);

}  // namespace compressor::model
