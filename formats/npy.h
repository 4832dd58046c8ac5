// NumPy .npy reader for pre-tokenized calibration ids (what `np.save("ids.npy", ids)` writes).
// Format (numpy.lib.format): magic "\x93NUMPY", version major/minor bytes, a little-endian header
// length (u16 in version 1, u32 in 2 and 3), then a Python dict literal
// {'descr': '<i8', 'fortran_order': False, 'shape': (N, T), } padded with spaces and '\n', then
// the raw C-order data.
#pragma once

#include <filesystem>

#include <torch/torch.h>

namespace compressor::formats {

// The array of an .npy file of integers as int64 (a copy), in its shape (any rank). Accepted:
// little-endian or byte-order-free signed and unsigned 1-, 2-, 4- and 8-byte integers ('<i4',
// '<i8', '<u2', '|u1', ...), C order. Anything else (floats, Fortran order, big-endian, a
// truncated or malformed header, data shorter than the shape) is BadInput naming the file.
torch::Tensor read_npy_integers(const std::filesystem::path& path);

}  // namespace compressor::formats
